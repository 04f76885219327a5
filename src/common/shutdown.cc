#include "common/shutdown.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <csignal>

namespace freshet {
namespace {

// Signal handlers can reach only process-wide state; these are the whole of it, and only
// async-signal-safe calls (write, _exit) touch them from the handler.
std::atomic<bool> g_installed{false};
std::atomic<bool> g_requested{false};
std::atomic<int> g_signal{0};
int g_pipe[2] = {-1, -1};
struct sigaction g_previous_int {};
struct sigaction g_previous_term {};

void WakeWaiters() {
  char byte = 1;
  // A full pipe already wakes every poller; a failed write changes nothing.
  [[maybe_unused]] ssize_t n = write(g_pipe[1], &byte, 1);
}

void OnSignal(int signal_number) {
  if (g_requested.exchange(true)) {
    static constexpr char kMessage[] = "freshet: second signal, exiting now\n";
    [[maybe_unused]] ssize_t n = write(STDERR_FILENO, kMessage, sizeof(kMessage) - 1);
    _exit(128 + signal_number);
  }
  g_signal.store(signal_number);
  WakeWaiters();
}

}  // namespace

Result<std::unique_ptr<ShutdownSignal>> ShutdownSignal::Install() {
  if (g_installed.exchange(true)) {
    return Status::AlreadyExists("a ShutdownSignal is already installed in this process");
  }
  if (pipe2(g_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
    Status status = Status::FromErrno(errno, "creating the shutdown pipe");
    g_installed.store(false);
    return status;
  }
  g_requested.store(false);
  g_signal.store(0);
  struct sigaction action {};
  action.sa_handler = OnSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGINT, &action, &g_previous_int);
  sigaction(SIGTERM, &action, &g_previous_term);
  return std::unique_ptr<ShutdownSignal>(new ShutdownSignal());
}

ShutdownSignal::~ShutdownSignal() {
  sigaction(SIGINT, &g_previous_int, nullptr);
  sigaction(SIGTERM, &g_previous_term, nullptr);
  close(g_pipe[0]);
  close(g_pipe[1]);
  g_pipe[0] = g_pipe[1] = -1;
  g_installed.store(false);
}

bool ShutdownSignal::Requested() const { return g_requested.load(); }

int ShutdownSignal::signal_number() const { return g_signal.load(); }

bool ShutdownSignal::WaitFor(std::chrono::milliseconds timeout) const {
  if (Requested()) return true;
  pollfd pfd{g_pipe[0], POLLIN, 0};
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!Requested()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    poll(&pfd, 1, static_cast<int>(std::min<int64_t>(left.count(), 1 << 30)));
  }
  return Requested();
}

int ShutdownSignal::fd() const { return g_pipe[0]; }

void ShutdownSignal::Request() {
  if (!g_requested.exchange(true)) WakeWaiters();
}

}  // namespace freshet
