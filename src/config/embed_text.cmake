# Writes a C++ source defining `std::string_view <FUNCTION>()` in namespace <NAMESPACE> that
# returns the bytes of <INPUT> as a raw string literal. Run at build time:
#   cmake -DINPUT=... -DOUTPUT=... -DHEADER=... -DNAMESPACE=... -DFUNCTION=... -P embed_text.cmake
foreach(var INPUT OUTPUT HEADER NAMESPACE FUNCTION)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "embed_text.cmake: -D${var}=... is required")
  endif()
endforeach()

file(READ "${INPUT}" content)
get_filename_component(input_name "${INPUT}" NAME)
# The literal ends at the first `)bc_embed"`; a file that contains it cannot be embedded this way.
set(delimiter "bc_embed")
string(FIND "${content}" ")${delimiter}\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains ')${delimiter}\"', which would end the raw string literal")
endif()

set(generated "// Generated from ${input_name} by embed_text.cmake. Do not edit.
#include \"${HEADER}\"

namespace ${NAMESPACE} {

std::string_view ${FUNCTION}() {
  static constexpr std::string_view kText = R\"${delimiter}(${content})${delimiter}\";
  return kText;
}

}  // namespace ${NAMESPACE}
")

# Rewrite only on change, so an unchanged input does not recompile.
if(EXISTS "${OUTPUT}")
  file(READ "${OUTPUT}" previous)
  if(previous STREQUAL generated)
    return()
  endif()
endif()
file(WRITE "${OUTPUT}" "${generated}")
