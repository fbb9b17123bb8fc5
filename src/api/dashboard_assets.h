// The dashboard's page (src/api/dashboard/), embedded in the binary at build time by
// src/config/embed_text.cmake (see src/api/CMakeLists.txt).
#pragma once

#include <string_view>

namespace bc::api {

std::string_view dashboard_html();
std::string_view dashboard_js();
std::string_view dashboard_css();
std::string_view dashboard_login_html();
std::string_view dashboard_login_css();

}  // namespace bc::api
