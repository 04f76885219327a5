#include "common/sql_quote.h"

#include <gtest/gtest.h>

namespace freshet {
namespace {

TEST(SqlQuote, DoublesEmbeddedQuotes) {
  EXPECT_EQ(QuoteIdentifier("orders"), "\"orders\"");
  EXPECT_EQ(QuoteIdentifier("a\"b"), "\"a\"\"b\"");
  EXPECT_EQ(QuoteLiteral("it's"), "'it''s'");
  EXPECT_EQ(QuoteLiteral(""), "''");
  EXPECT_EQ(QuoteLiteral("back\\slash"), "'back\\slash'");
}

TEST(SqlQuote, QuotesOnlyWhenNeededForDisplay) {
  EXPECT_EQ(QuoteIdentifierIfNeeded("plain_1"), "plain_1");
  EXPECT_EQ(QuoteIdentifierIfNeeded("Mixed"), "\"Mixed\"");
  EXPECT_EQ(QuoteIdentifierIfNeeded("1st"), "\"1st\"");
  EXPECT_EQ(QuoteIdentifierIfNeeded("a b"), "\"a b\"");
  EXPECT_EQ(QuoteIdentifierIfNeeded(""), "\"\"");
}

}  // namespace
}  // namespace freshet
