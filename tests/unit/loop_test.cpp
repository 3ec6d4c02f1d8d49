// The loop thread's end: stop() runs the registered steps while the loop still runs, then what
// was posted, and joins the thread; a later post starts it again. (What happens at exit, with
// VMs, is the clean_exit stress test's: tests/faults.)
#include "loop/loop.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "loop/completion.h"

namespace {

using namespace std::chrono_literals;
using provium::loop::Completion;
using provium::loop::Loop;

int thread_count() {
  int threads = 0;
  for ([[maybe_unused]] const auto& task : std::filesystem::directory_iterator("/proc/self/task")) ++threads;
  return threads;
}

// Runs `task` on the loop and waits for it.
bool run_on_loop(std::function<void()> task) {
  Completion<bool> done;
  Loop::instance().post([task, done] {
    task();
    done.resolve(true);
  });
  return done.wait_until(std::chrono::steady_clock::now() + 10s).has_value();
}

TEST(Loop, StopRunsWhatWasPostedThenJoinsTheThread) {
  ASSERT_TRUE(run_on_loop([] {}));
  ASSERT_EQ(thread_count(), 2);
  std::atomic<bool> ran = false;
  Loop::instance().post([&ran] {
    std::this_thread::sleep_for(50ms);
    ran = true;
  });
  Loop::stop();
  EXPECT_TRUE(ran);
  EXPECT_EQ(thread_count(), 1);
}

TEST(Loop, APostAfterStopStartsTheThreadAgain) {
  Loop::stop();
  ASSERT_EQ(thread_count(), 1);
  std::thread::id loop_thread;
  EXPECT_TRUE(run_on_loop([&loop_thread] { loop_thread = std::this_thread::get_id(); }));
  EXPECT_NE(loop_thread, std::this_thread::get_id());
  EXPECT_EQ(thread_count(), 2);
  EXPECT_FALSE(Loop::instance().on_loop_thread());
}

std::atomic<bool> step_reached_the_loop = false;

TEST(Loop, StopStepsRunWhileTheLoopStillRuns) {
  ASSERT_TRUE(run_on_loop([] {}));
  // Registered once: a step stays registered for every later stop of the process.
  static const bool registered = (Loop::instance().at_stop([] {
    // A step may post work and wait for it, as the QEMU step waits for the reaping.
    step_reached_the_loop = run_on_loop([] {});
  }), true);
  ASSERT_TRUE(registered);
  step_reached_the_loop = false;
  Loop::stop();
  EXPECT_TRUE(step_reached_the_loop);
  EXPECT_EQ(thread_count(), 1);
}

TEST(Loop, StopWithoutAThreadDoesNothing) {
  Loop::stop();
  Loop::stop();
  EXPECT_EQ(thread_count(), 1);
}

}  // namespace
