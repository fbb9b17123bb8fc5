# Writes OUT, a header defining BC_REVISION: the git revision of SOURCE_DIR (12 hex digits,
# "-dirty" when tracked files differ from it), REVISION when given (a build from a tarball),
# else "unknown". Run at build time; it rewrites OUT only when the text changes, so a build
# with nothing new recompiles nothing.
if(REVISION)
  set(rev "${REVISION}")
else()
  execute_process(COMMAND git -C "${SOURCE_DIR}" rev-parse --short=12 HEAD
                  OUTPUT_VARIABLE rev OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET
                  RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0 OR rev STREQUAL "")
    set(rev "unknown")
  else()
    execute_process(COMMAND git -C "${SOURCE_DIR}" diff --quiet HEAD -- RESULT_VARIABLE dirty
                    OUTPUT_QUIET ERROR_QUIET)
    if(NOT dirty EQUAL 0)
      string(APPEND rev "-dirty")
    endif()
  endif()
endif()
set(text "#define BC_REVISION \"${rev}\"\n")
if(EXISTS "${OUT}")
  file(READ "${OUT}" old)
endif()
if(NOT "${old}" STREQUAL "${text}")
  file(WRITE "${OUT}" "${text}")
endif()
