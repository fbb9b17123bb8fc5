#include "balance/capacity.h"

#include <gtest/gtest.h>

#include "balance/test_support.h"

namespace bc::balance {
namespace {

using std::chrono::milliseconds;
using testing::at;
using testing::make_pool;
using testing::model_spec;

std::unique_ptr<Pool> mixed_pool() {
  auto chat = model_spec("chat", {3, 1}, "concurrency", 4);
  chat.weight = 2;
  auto fast = model_spec("fast", {1}, "qps");
  fast.max_qps = 10;
  return make_pool({chat, fast});
}

TEST(Capacity, ReportsTotalsPerCapacityTypeAndEachModelsKeys) {
  auto pool = mixed_pool();
  std::vector<Lease> held;
  held.push_back(std::move(*pool->try_acquire({0, 0}, {}, at(0))));
  held.push_back(std::move(*pool->try_acquire({0, 0}, {}, at(0))));
  held.push_back(std::move(*pool->try_acquire({1, 0}, {}, at(0))));

  const CapacityReport report = capacity_report(*pool, at(0.5));
  EXPECT_EQ(report.total_max.at("concurrency"), 8);
  EXPECT_EQ(report.total_max.at("qps"), 10);
  ASSERT_EQ(report.details.size(), 2u);

  const ModelReport& chat = report.details[0];
  EXPECT_EQ(chat.name, "chat");
  EXPECT_EQ(chat.type, "concurrency");
  EXPECT_EQ(chat.current, 2);
  EXPECT_EQ(chat.max, 8);
  EXPECT_EQ(chat.weight, 2);
  EXPECT_EQ(chat.effective_weight, 2);
  ASSERT_EQ(chat.keys.size(), 2u);
  EXPECT_EQ(chat.keys[0].id, "chat-k0");
  EXPECT_EQ(chat.keys[0].weight, 3);
  EXPECT_EQ(chat.keys[0].current, 2);
  EXPECT_EQ(chat.keys[0].max, 4);
  EXPECT_EQ(chat.keys[0].state, "ok");

  const ModelReport& fast = report.details[1];
  EXPECT_EQ(fast.type, "qps");
  EXPECT_EQ(fast.current, 1);  // one start in the last second
  EXPECT_EQ(fast.max, 10);
  // Key fractions: 2/4, 0/4 and 1/10.
  EXPECT_NEAR(report.load_percent, 100 * (0.5 + 0 + 0.1) / 3, 1e-9);
  EXPECT_NEAR(load_percent(*pool, at(0.5)), report.load_percent, 1e-12);
}

TEST(Capacity, FilterKeepsOnlyTheModelsItAllows) {
  auto pool = mixed_pool();
  std::vector<Lease> held;
  held.push_back(std::move(*pool->try_acquire({0, 0}, {}, at(0))));
  held.push_back(std::move(*pool->try_acquire({1, 0}, {}, at(0))));
  const ModelFilter only_fast = [](std::string_view model) { return model == "fast"; };

  const CapacityReport report = capacity_report(*pool, at(0.5), only_fast);
  ASSERT_EQ(report.details.size(), 1u);
  EXPECT_EQ(report.details[0].name, "fast");
  // Totals and load over the kept model alone: nothing of "chat" shows through.
  EXPECT_EQ(report.total_max.count("concurrency"), 0u);
  EXPECT_EQ(report.total_max.at("qps"), 10);
  EXPECT_NEAR(report.load_percent, 100 * 0.1, 1e-9);
  EXPECT_NEAR(load_percent(*pool, at(0.5), only_fast), report.load_percent, 1e-12);

  const ModelFilter none = [](std::string_view) { return false; };
  EXPECT_TRUE(capacity_report(*pool, at(0.5), none).details.empty());
  EXPECT_EQ(load_percent(*pool, at(0.5), none), 0);
  // No filter: every model.
  EXPECT_EQ(capacity_report(*pool, at(0.5), {}).details.size(), 2u);
}

TEST(Capacity, ShowsCoolingAndDisabledKeys) {
  auto pool = mixed_pool();
  pool->cool_down({0, 0}, at(10));
  pool->set_disabled({0, 1}, true);
  const ModelReport chat = model_report(*pool, 0, at(1));
  EXPECT_EQ(chat.keys[0].state, "cooling");
  EXPECT_EQ(chat.keys[0].effective_weight, 0);
  EXPECT_EQ(chat.keys[1].state, "quarantined");
  EXPECT_EQ(chat.max, 4);  // the disabled key has no capacity to offer
  EXPECT_EQ(chat.effective_weight, 0);
  // The cooling key counts as full; the disabled one is left out; the qps key is idle.
  EXPECT_NEAR(load_percent(*pool, at(1)), 100.0 * 1 / 2, 1e-9);
  EXPECT_EQ(model_report(*pool, 0, at(10)).keys[0].state, "ok");
}

TEST(Capacity, LooksUpOneKeyByModelNameAndPublicId) {
  auto pool = mixed_pool();
  auto lease = pool->try_acquire({0, 1}, {}, at(0));
  lease->settle(testing::ok_outcome(milliseconds(250)), at(0));
  auto key = key_report(*pool, "chat", "chat-k1", at(0));
  ASSERT_TRUE(key.has_value());
  EXPECT_EQ(key->id, "chat-k1");
  EXPECT_EQ(key->weight, 1);
  ASSERT_TRUE(key->latency_ms.has_value());
  EXPECT_NEAR(*key->latency_ms, 250, 1e-6);
  EXPECT_FALSE(key_report(*pool, "chat", "secret-chat-k1", at(0)).has_value());
  EXPECT_FALSE(key_report(*pool, "none", "chat-k1", at(0)).has_value());
}

TEST(Capacity, AnUnlimitedModelHasNoMaxAndDoesNotCountInLoad) {
  auto pool = make_pool({model_spec("free", {1, 1})});
  auto lease = pool->try_acquire({0, 0}, {}, at(0));
  const CapacityReport report = capacity_report(*pool, at(0));
  EXPECT_EQ(report.details[0].max, 0);
  EXPECT_EQ(report.details[0].current, 1);
  EXPECT_EQ(report.load_percent, 0);
}

TEST(Capacity, SharedInFlightReplacesThisInstancesCountsAndTheLoadFollows) {
  auto pool = mixed_pool();
  std::vector<Lease> held;
  held.push_back(std::move(*pool->try_acquire({0, 0}, {}, at(0))));
  held.push_back(std::move(*pool->try_acquire({0, 0}, {}, at(0))));
  held.push_back(std::move(*pool->try_acquire({1, 0}, {}, at(0))));
  CapacityReport report = capacity_report(*pool, at(0.5));
  // Nothing shared: the figures and the load stay this instance's.
  const double local_load = report.load_percent;
  apply_shared_in_flight(*pool, report, [](std::size_t, std::size_t) { return std::nullopt; });
  EXPECT_DOUBLE_EQ(report.load_percent, local_load);
  EXPECT_EQ(report.details[0].current, 2);

  // Over every instance: 3 and 1 on chat's keys; fast's (no max_concurrency) not counted.
  apply_shared_in_flight(*pool, report, [](std::size_t m, std::size_t k) -> std::optional<int> {
    if (m != 0) return std::nullopt;
    return k == 0 ? 3 : 1;
  });
  const ModelReport& chat = report.details[0];
  EXPECT_EQ(chat.keys[0].in_flight, 3);
  EXPECT_EQ(chat.keys[0].current, 3);
  EXPECT_EQ(chat.keys[1].in_flight, 1);
  EXPECT_EQ(chat.current, 4);
  EXPECT_EQ(chat.in_flight, 4);
  EXPECT_EQ(report.details[1].in_flight, 1);
  EXPECT_EQ(report.details[1].current, 1);
  // (3/4 + 1/4 + 1/10) / 3 keys.
  EXPECT_NEAR(report.load_percent, 100.0 * 1.1 / 3, 1e-9);

  // One key alone, as /llm/key-load reports it.
  auto key = *key_report(*pool, "chat", report.details[0].keys[1].id, at(0.5));
  apply_shared_in_flight(*pool, 0, 1, key, [](std::size_t, std::size_t) { return 2; });
  EXPECT_EQ(key.in_flight, 2);
  EXPECT_EQ(key.current, 2);
}

}  // namespace
}  // namespace bc::balance
