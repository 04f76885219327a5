#include "common/glob.h"

#include <gtest/gtest.h>

namespace freshet {
namespace {

TEST(GlobTest, StarAndQuestionMark) {
  EXPECT_TRUE(MatchesGlob("public.*", "public.orders"));
  EXPECT_FALSE(MatchesGlob("public.*", "sales.orders"));
  EXPECT_TRUE(MatchesGlob("*.orders", "sales.orders"));
  EXPECT_TRUE(MatchesGlob("public.audit_*", "public.audit_2026"));
  EXPECT_FALSE(MatchesGlob("public.audit_*", "public.audits"));
  EXPECT_TRUE(MatchesGlob("public.order?", "public.orders"));
  EXPECT_FALSE(MatchesGlob("public.order?", "public.order"));
  EXPECT_TRUE(MatchesGlob("*", "x.y"));
  EXPECT_TRUE(MatchesGlob("*", ""));
  EXPECT_TRUE(MatchesGlob("p*c.*s", "public.orders"));
  EXPECT_FALSE(MatchesGlob("public.orders", "public.orders2"));
  EXPECT_FALSE(MatchesGlob("Public.*", "public.orders"));
}

TEST(GlobTest, OptionsFoldCaseAndMakeQuestionMarkLiteral) {
  EXPECT_TRUE(MatchesGlob("Public.*", "public.orders", {.ignore_case = true}));
  EXPECT_FALSE(MatchesGlob("a?", "ab", {.question_mark = false}));
  EXPECT_TRUE(MatchesGlob("a?", "a?", {.question_mark = false}));
}

}  // namespace
}  // namespace freshet
