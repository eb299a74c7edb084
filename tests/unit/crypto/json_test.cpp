#include "crypto/vectors/json.h"

#include <gtest/gtest.h>

#include <string>

namespace ferry::crypto::json {
namespace {

TEST(Json, ParsesNestedDocument) {
  auto v = parse(R"( {"a": [1, -2.5e3, true, false, null], "b": {"c": "x\u00e9\ud83d\ude00\n"}} )");
  ASSERT_TRUE(v);
  const Value* a = v->find("a");
  ASSERT_NE(a, nullptr);
  ASSERT_EQ(a->array.size(), 5u);
  EXPECT_EQ(a->array[1].number, -2500);
  EXPECT_TRUE(a->array[2].boolean);
  EXPECT_TRUE(a->array[4].is(Value::Type::null));
  EXPECT_EQ(v->find("b")->find("c")->string, "x\xc3\xa9\xf0\x9f\x98\x80\n");
  EXPECT_EQ(v->find("missing"), nullptr);
}

TEST(Json, RejectsEverythingOutsideTheGrammar) {
  for (const char* bad :
       {"", "{", "[1,]", "{\"a\":1,}", "{a:1}", "[01]", "[1.]", "[.5]", "[1e]", "\"\\x\"",
        "\"\\ud800\"", "\"\\udc00\"", "\"a\nb\"", "[1] 2", "tru", "// c\n1", "[\"\\u12\"]", "-"}) {
    EXPECT_FALSE(parse(bad)) << bad;
  }
}

TEST(Json, BoundsNestingDepth) {
  std::string deep(kMaxDepth + 5, '[');
  deep += std::string(kMaxDepth + 5, ']');
  auto v = parse(deep);
  ASSERT_FALSE(v);
  EXPECT_EQ(v.code(), Errc::malformed);
  std::string ok(10, '[');
  ok += std::string(10, ']');
  EXPECT_TRUE(parse(ok));
}

}  // namespace
}  // namespace ferry::crypto::json
