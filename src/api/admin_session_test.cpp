// The dashboard's sessions (admin_session.h): ids, expiry, the token that granted them, the
// cookie, the CSRF rule.
#include "api/admin_session.h"

#include <gtest/gtest.h>

namespace bc::api {
namespace {

namespace http = boost::beast::http;

const TimePoint kT0 = TimePoint{} + std::chrono::hours(1000);

TEST(AdminSessions, OpensRandomIdsThatAreFoundUntilTheyExpire) {
  AdminSessions s;
  const auto a = s.open("token-0123456789abcdef", kT0);
  const auto b = s.open("token-0123456789abcdef", kT0);
  EXPECT_EQ(a.id.size(), 64u);
  EXPECT_NE(a.id, b.id);
  EXPECT_NE(a.serial, b.serial);
  EXPECT_EQ(s.find(a.id, "token-0123456789abcdef", kT0), a.serial);
  const auto last = kT0 + AdminSessions::kLifetime - std::chrono::seconds(1);
  EXPECT_EQ(s.find(a.id, "token-0123456789abcdef", last), a.serial);
  EXPECT_FALSE(s.find(a.id, "token-0123456789abcdef", kT0 + AdminSessions::kLifetime));
  EXPECT_FALSE(s.find("", "token-0123456789abcdef", kT0));
  EXPECT_FALSE(s.find(std::string(64, '0'), "token-0123456789abcdef", kT0));
}

TEST(AdminSessions, DiesWithTheTokenThatGrantedIt) {
  AdminSessions s;
  const auto a = s.open("old-token-0123456789", kT0);
  EXPECT_FALSE(s.find(a.id, "new-token-0123456789", kT0));
  EXPECT_TRUE(s.find(a.id, "old-token-0123456789", kT0));
}

TEST(AdminSessions, ClosedOnce) {
  AdminSessions s;
  const auto a = s.open("token-0123456789abcdef", kT0);
  EXPECT_EQ(s.close(a.id), a.serial);
  EXPECT_FALSE(s.close(a.id));
  EXPECT_FALSE(s.find(a.id, "token-0123456789abcdef", kT0));
}

TEST(AdminSessions, BoundedInNumber) {
  AdminSessions s;
  const auto first = s.open("t", kT0);
  for (std::size_t i = 1; i < AdminSessions::kMaxSessions; ++i) {
    s.open("t", kT0 + std::chrono::seconds(i));
  }
  EXPECT_EQ(s.size(), AdminSessions::kMaxSessions);
  EXPECT_TRUE(s.find(first.id, "t", kT0));
  s.open("t", kT0 + std::chrono::hours(1));
  EXPECT_EQ(s.size(), AdminSessions::kMaxSessions);
  EXPECT_FALSE(s.find(first.id, "t", kT0));  // the one closest to its expiry went
}

TEST(CookieValue, FindsTheNamedCookie) {
  EXPECT_EQ(cookie_value("a=1; bc_admin_session=abc; b=2", kSessionCookie), "abc");
  EXPECT_EQ(cookie_value("bc_admin_session=\"abc\"", kSessionCookie), "abc");
  EXPECT_EQ(cookie_value(" bc_admin_session = abc ", kSessionCookie), "abc");
  EXPECT_FALSE(cookie_value("xbc_admin_session=abc; bc_admin_sessionx=d", kSessionCookie));
  EXPECT_FALSE(cookie_value("", kSessionCookie));
  EXPECT_FALSE(cookie_value("bc_admin_session", kSessionCookie));
}

TEST(SessionCookie, IsHttpOnlyAndStrict) {
  EXPECT_EQ(session_cookie("abc", std::chrono::seconds(60), false),
            "bc_admin_session=abc; Path=/; Max-Age=60; HttpOnly; SameSite=Strict");
  EXPECT_EQ(session_cookie("", std::chrono::seconds(0), true),
            "bc_admin_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict; Secure");
}

net::HttpRequest post(std::string_view admin_header, std::string_view origin) {
  net::HttpRequest r{http::verb::post, "/admin/keys/drain", 11};
  r.set(http::field::host, "127.0.0.1:9000");
  if (!admin_header.empty()) r.set(kAdminHeader, admin_header);
  if (!origin.empty()) r.set(http::field::origin, origin);
  return r;
}

TEST(CsrfSafe, ReadsAlwaysChangesOnlyWithTheHeaderFromTheSameOrigin) {
  net::HttpRequest get{http::verb::get, "/admin/dashboard", 11};
  EXPECT_TRUE(csrf_safe(get));
  EXPECT_FALSE(csrf_safe(post("", "")));
  EXPECT_FALSE(csrf_safe(post("yes", "")));
  EXPECT_TRUE(csrf_safe(post("1", "")));
  EXPECT_TRUE(csrf_safe(post("1", "http://127.0.0.1:9000")));
  EXPECT_TRUE(csrf_safe(post("1", "https://127.0.0.1:9000")));
  EXPECT_FALSE(csrf_safe(post("1", "http://evil.example")));
  EXPECT_FALSE(csrf_safe(post("1", "http://127.0.0.1:9001")));
  EXPECT_FALSE(csrf_safe(post("1", "null")));
}

}  // namespace
}  // namespace bc::api
