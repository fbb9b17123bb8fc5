#include "core/mask.h"

#include <gtest/gtest.h>

namespace bc {
namespace {

TEST(MaskSecret, KeepsPrefixAndLastFour) {
  EXPECT_EQ(mask_secret("sk-abcdefghijklmnop1234"), "sk-…1234");
  EXPECT_EQ(mask_secret("0f1e2d3c4b5a.AbCdEfGh12345678"), "…5678");
}

TEST(MaskSecret, ShortSecretsRevealAlmostNothing) {
  EXPECT_EQ(mask_secret("abc"), "…");
  EXPECT_EQ(mask_secret("abcdefghij"), "…ij");
}

TEST(MaskSecret, NeverContainsTheMiddle) {
  const std::string secret = "sk-proj-SECRETSECRETSECRET9876";
  const auto masked = mask_secret(secret);
  EXPECT_EQ(masked.find("SECRET"), std::string::npos);
}

}  // namespace
}  // namespace bc
