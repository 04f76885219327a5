// main() for test binaries that need PostgreSQL: one throwaway server per binary.

#include <gtest/gtest.h>

#include "postgres_test.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new freshet::testing::PostgresEnvironment());
  return RUN_ALL_TESTS();
}
