// Who may enter /admin/*, and the dashboard's sign-in and sign-out:
//   POST /admin/login   the admin token, as JSON {"token": "..."} or as the login form sends it
//       (application/x-www-form-urlencoded, token=...): opens a session (admin_session.h) and
//       sets its cookie. The form's answer is 303 to /dashboard, JSON's 200; a wrong token is
//       401 (the form gets the login page again, with a note). 404 while admin.dashboard is
//       off: the cookie exists for the page.
//   POST /admin/logout  ends the session its cookie names and clears the cookie.
// Every other /admin/* endpoint takes the bearer admin token or a live session's cookie;
// a change (any method but GET and HEAD) made with the cookie must also be CSRF-safe
// (csrf_safe). Each sign-in, refused sign-in and sign-out is logged once, with the client's
// address.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "api/admin_session.h"
#include "api/router.h"
#include "config/config.h"
#include "core/clock.h"
#include "core/error.h"
#include "gateway/gateway.h"

namespace bc::api {

// The serial of the live session the request's cookie names, if any.
std::optional<std::uint64_t> admin_session_of(const config::Config& config,
                                              const AdminSessions& sessions,
                                              const net::HttpRequest& request, TimePoint now);

// Why a request to /admin/* is refused, if it is: no admin token configured (403); neither
// the token nor a live session (401); a change by cookie without the CSRF header or from
// another origin (403). POST /admin/login passes while the dashboard is on and its body is at
// most 4 KB (else 404 or 413): it checks the token itself.
std::optional<Error> admin_refused(const config::Config& config, const AdminSessions& sessions,
                                   const net::HttpRequest& request, TimePoint now);

// Who an admin request came from, for the log: "the admin token from 127.0.0.1:53124" or
// "admin session #3 from 127.0.0.1:53124".
std::string admin_who(const config::Config& config, const AdminSessions& sessions,
                      const net::HttpRequest& request, const std::string& remote);

void add_login_routes(Router& router, const gateway::Gateway& gateway, AdminSessions& sessions);

}  // namespace bc::api
