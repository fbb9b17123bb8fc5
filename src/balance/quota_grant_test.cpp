// The grant of a key's daily quota (KeyLoad::gate_quota, grant_quota): with gating on,
// admission stays inside what the usage ledger has made durable, a key short of its grant
// leaves selection until the next grant, and the pool wakes its queue when one comes.
#include <gtest/gtest.h>

#include <vector>

#include "balance/key_load.h"
#include "balance/test_support.h"

namespace bc::balance {
namespace {

using testing::at;

constexpr std::int64_t kH = 3'600'000;
constexpr std::int64_t kJan31 = 1'738'281'600'000;  // 2025-01-31T00:00:00Z
constexpr std::int64_t kWall = kJan31 + 10 * kH;

KeyLimits quota(std::int64_t rpd, std::int64_t tpd) {
  KeyLimits l;
  l.rpd = rpd;
  l.tpd = tpd;
  return l;
}

Demand at_wall(std::int64_t wall_ms, std::int64_t tokens = 10) {
  Demand d;
  d.wall_ms = wall_ms;
  d.estimated_tokens = tokens;
  return d;
}

TEST(QuotaGrant, AGatedKeyTakesNothingUntilItHasAGrantForTheDay) {
  KeyLoad load(quota(100, 0));
  load.gate_quota();
  EXPECT_TRUE(load.quota_gated());
  EXPECT_TRUE(load.grant_blocked());
  EXPECT_FALSE(load.can_take(at_wall(kWall), at(0)));
  EXPECT_FALSE(load.try_admit(at_wall(kWall), at(0)));
  EXPECT_EQ(load.next_available(at_wall(kWall), at(0)), std::nullopt) << "waits for the grant";
  // A grant for another day is ignored; one for today lets three through.
  EXPECT_FALSE(load.grant_quota(kWall, at(1), kJan31 - 24 * kH, 3, 0));
  EXPECT_TRUE(load.grant_quota(kWall, at(1), kJan31, 3, 0));
  EXPECT_FALSE(load.grant_blocked());
  for (int i = 0; i < 3; ++i) {
    auto a = load.try_admit(at_wall(kWall), at(2));
    ASSERT_TRUE(a) << i;
    load.release(*a, true);
  }
  // The fourth is short of the grant, not of the quota: out of selection, not "at quota".
  EXPECT_FALSE(load.try_admit(at_wall(kWall), at(3)));
  EXPECT_TRUE(load.grant_blocked());
  EXPECT_FALSE(load.at_quota(at(3)));
  EXPECT_FALSE(load.can_take(at_wall(kWall), at(3)));
  const QuotaGrant g = load.quota_grant();
  EXPECT_TRUE(g.blocked);
  EXPECT_EQ(g.requests, 3);
  EXPECT_EQ(load.quota_use().requests, 3) << "nothing counted for the refusal";
  // A grant never shrinks.
  load.grant_quota(kWall, at(4), kJan31, 2, 0);
  EXPECT_EQ(load.quota_grant().requests, 3);
  EXPECT_TRUE(load.grant_quota(kWall, at(4), kJan31, 5, 0));
  EXPECT_TRUE(load.try_admit(at_wall(kWall), at(5)));
}

TEST(QuotaGrant, TokensStayInsideTheGrantAndTheRefusedSizeIsRemembered) {
  KeyLoad load(quota(0, 1000));
  load.gate_quota();
  load.grant_quota(kWall, at(0), kJan31, 0, 100);
  auto a = load.try_admit(at_wall(kWall, 60), at(1));
  ASSERT_TRUE(a);
  EXPECT_FALSE(load.try_admit(at_wall(kWall, 60), at(1))) << "60 + 60 > the grant of 100";
  EXPECT_EQ(load.quota_grant().wanted_tokens, 60);
  EXPECT_TRUE(load.grant_quota(kWall, at(2), kJan31, 0, 200));
  EXPECT_TRUE(load.try_admit(at_wall(kWall, 60), at(2)));
}

TEST(QuotaGrant, TheQuotaItselfStillDecidesAtItsLimit) {
  KeyLoad load(quota(2, 0));
  load.gate_quota();
  load.grant_quota(kWall, at(0), kJan31, 2, 0);
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(load.try_admit(at_wall(kWall), at(1)));
  // At its rpd: "quota" with its reset time, not waiting for a grant.
  EXPECT_TRUE(load.at_quota(at(1)));
  EXPECT_FALSE(load.grant_blocked());
}

TEST(QuotaGrant, ANewDayNeedsItsOwnGrant) {
  KeyLoad load(quota(10, 0));
  load.gate_quota();
  load.grant_quota(kWall, at(0), kJan31, 10, 0);
  ASSERT_TRUE(load.try_admit(at_wall(kWall), at(1)));
  const std::int64_t tomorrow = kJan31 + 24 * kH + 5;
  EXPECT_FALSE(load.try_admit(at_wall(tomorrow), at(2)));
  EXPECT_TRUE(load.grant_blocked());
  EXPECT_TRUE(load.grant_quota(tomorrow, at(3), kJan31 + 24 * kH, 4, 0));
  EXPECT_TRUE(load.try_admit(at_wall(tomorrow), at(3)));
  EXPECT_EQ(load.quota_use().requests, 1);
}

TEST(QuotaGrant, AnUngatedKeyIgnoresGrants) {
  KeyLoad load(quota(5, 0));
  EXPECT_FALSE(load.grant_blocked());
  ASSERT_TRUE(load.try_admit(at_wall(kWall), at(0)));
  KeyLoad unlimited(KeyLimits{});
  unlimited.gate_quota();
  EXPECT_FALSE(unlimited.quota_gated()) << "no daily quota: nothing to gate";
  EXPECT_TRUE(unlimited.try_admit(at_wall(kWall), at(0)));
}

TEST(QuotaGrant, ThePoolTakesAGrantedKeyBackAndWakesItsQueue) {
  // 40 keys: indexed (more keys than a pick scans whole).
  ModelSpec spec =
      testing::model_spec("m", {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                                1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1});
  spec.rpd = 100;
  auto pool = testing::make_pool({spec});
  ASSERT_TRUE(pool);
  std::vector<Target> woken;
  pool->set_release_listener([&woken](Target t) { woken.push_back(t); });
  int asked = 0;
  pool->set_grant_listener([&asked] { ++asked; });
  pool->gate_quotas();
  Rng rng(1);
  Demand d = at_wall(kWall);
  EXPECT_TRUE(pool->candidates(d, at(0), rng).empty()) << "no key has a grant yet";
  // Capacity that will come back: the queue waits for it rather than failing at once.
  EXPECT_TRUE(pool->awaits_grant(d));
  EXPECT_EQ(asked, 1) << "and asks for a grant";
  EXPECT_EQ(pool->next_available(d, at(0)), std::nullopt);
  pool->grant_quota({0, 7}, kWall, at(1), kJan31, 1, 0);
  ASSERT_EQ(woken.size(), 1u);
  EXPECT_EQ(woken[0].key, 7u);
  const auto c = pool->candidates(d, at(1), rng);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].key, 7u);
  auto lease = pool->try_acquire(c[0], d, at(1));
  ASSERT_TRUE(lease);
  lease->settle(testing::ok_outcome(), at(2));
  EXPECT_TRUE(pool->candidates(d, at(2), rng).empty()) << "its one request used the grant";
  EXPECT_FALSE(pool->try_acquire({0, 7}, d, at(2)));
  EXPECT_EQ(asked, 2) << "a refusal by the grant asks for the next one";
  // A grant that lets nothing more through wakes nobody.
  woken.clear();
  pool->grant_quota({0, 8}, kWall, at(3), kJan31 - 24 * kH, 5, 0);
  EXPECT_TRUE(woken.empty());
}

}  // namespace
}  // namespace bc::balance
