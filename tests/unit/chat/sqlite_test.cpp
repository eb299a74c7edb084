// The SQLite wrapper's one judgement call: which failed INSERT means "the
// row is there already" and which is an error the caller must hear of; and
// how every database is opened.
#include "chat/db/sqlite.h"

#include <gtest/gtest.h>

#include "test_dir.h"

namespace ferry::chat::db {
namespace {

class StepConstraintTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    db_ = Database::open(dir_.file("t.db"), "NORMAL", error);
    ASSERT_TRUE(db_) << error;
    db_->exec("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)");
  }
  bool insert(int64_t id, std::string_view name) {
    auto st = db_->prepare("INSERT INTO t(id, name) VALUES(?1, ?2)");
    st.bind(1, id);
    if (name.empty()) {
      st.bind_null(2);
    } else {
      st.bind(2, name);
    }
    return st.step_constraint();
  }

  testing::TempDir dir_;
  std::unique_ptr<Database> db_;
};

TEST_F(StepConstraintTest, ADuplicateKeyOrUniqueValueIsReportedAsFalse) {
  EXPECT_TRUE(insert(1, "a"));
  EXPECT_FALSE(insert(1, "b"));  // PRIMARY KEY
  EXPECT_FALSE(insert(2, "a"));  // UNIQUE
  EXPECT_TRUE(insert(2, "b"));
}

TEST_F(StepConstraintTest, OtherConstraintFailuresThrow) {
  EXPECT_THROW(insert(1, ""), DbError);  // NOT NULL
  db_->exec("CREATE TRIGGER no BEFORE INSERT ON t BEGIN SELECT RAISE(ABORT, 'refused'); END");
  EXPECT_THROW(insert(3, "c"), DbError);
}

TEST(DatabaseOpen, DeletedRowsAreZeroedWhateverSQLiteWasBuiltWith) {
  // The client store's file scan (ClientStoreTest) shows what this is for.
  // Debian's SQLite has it on by default, so here this fails only if it is
  // turned off; with another SQLite build it also catches it not being set.
  testing::TempDir dir;
  std::string error;
  auto db = Database::open(dir.file("t.db"), "NORMAL", error);
  ASSERT_TRUE(db) << error;
  auto st = db->prepare("PRAGMA secure_delete");
  ASSERT_TRUE(st.step());
  EXPECT_EQ(st.int64(0), 1);
}

}  // namespace
}  // namespace ferry::chat::db
