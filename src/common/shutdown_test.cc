#include "common/shutdown.h"

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <thread>

#include <gtest/gtest.h>

namespace freshet {
namespace {

using std::chrono::milliseconds;

TEST(ShutdownSignal, SigtermRequestsShutdownAndWakesWaiters) {
  auto shutdown = ShutdownSignal::Install();
  ASSERT_TRUE(shutdown.ok()) << shutdown.status();
  EXPECT_FALSE((*shutdown)->Requested());
  EXPECT_FALSE((*shutdown)->WaitFor(milliseconds(1)));
  std::thread sender([] { kill(getpid(), SIGTERM); });
  EXPECT_TRUE((*shutdown)->WaitFor(milliseconds(60'000)));
  sender.join();
  EXPECT_EQ((*shutdown)->signal_number(), SIGTERM);
  pollfd pfd{(*shutdown)->fd(), POLLIN, 0};
  EXPECT_EQ(poll(&pfd, 1, 0), 1) << "fd is readable once requested";
}

TEST(ShutdownSignal, OnlyOneInstalledAtATime) {
  auto first = ShutdownSignal::Install();
  ASSERT_TRUE(first.ok());
  auto second = ShutdownSignal::Install();
  ASSERT_FALSE(second.ok());
  EXPECT_TRUE(second.status().Is(Code::kAlreadyExists));
  first->reset();
  EXPECT_TRUE(ShutdownSignal::Install().ok()) << "installable again after the first is gone";
}

TEST(ShutdownSignal, RequestFromInsideHasNoSignalNumber) {
  auto shutdown = ShutdownSignal::Install();
  ASSERT_TRUE(shutdown.ok());
  (*shutdown)->Request();
  EXPECT_TRUE((*shutdown)->Requested());
  EXPECT_EQ((*shutdown)->signal_number(), 0);
}

TEST(ShutdownSignal, SecondSignalExitsAtOnce) {
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    [[maybe_unused]] auto shutdown = ShutdownSignal::Install();
    kill(getpid(), SIGINT);
    kill(getpid(), SIGINT);
    _exit(0);  // not reached: the second signal exits with 128 + SIGINT
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 128 + SIGINT);
}

}  // namespace
}  // namespace freshet
