// SPDX-License-Identifier: Apache-2.0
#include "dataplane/flowlog/file_sink.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <thread>

#include "tests/dataplane/flowlog/records.h"
#include "tests/dataplane/flowlog/temp_dir.h"

namespace netfence::flowlog {
namespace {

using testing::kT0;
using testing::Names;
using testing::ReadAll;
using testing::ReadLines;
using testing::TempDir;

struct FakeClock {
  std::atomic<int64_t> now{kT0};
  std::function<int64_t()> fn() {
    return [this] { return now.load(); };
  }
};

std::string Line(int i, size_t width = 0) {
  std::string s = "{\"n\":" + std::to_string(i) + "}";
  if (s.size() < width) s.insert(s.size() - 1, ",\"pad\":\"" + std::string(width - s.size() - 9, 'x') + "\"");
  return s;
}

TEST(FileSinkTest, CreatesDirectoriesAndAppendsLines) {
  TempDir dir;
  FileSinkOptions o;
  o.path = dir / "a/b/flows.jsonl";
  {
    auto sink = FileSink::Open(o);
    ASSERT_TRUE(sink.ok()) << sink.status().message();
    EXPECT_TRUE((*sink)->Write(testing::StartRecord()));
    EXPECT_TRUE((*sink)->WriteLine("{\"x\":1}"));
  }
  EXPECT_EQ(ReadAll(o.path), ToJson(testing::StartRecord()) + "\n{\"x\":1}\n");
  {
    auto sink = FileSink::Open(o);  // a restarted agent appends
    ASSERT_TRUE(sink.ok());
    (*sink)->WriteLine("{\"x\":2}");
    (*sink)->Flush();
    EXPECT_EQ((*sink)->stats().lines_written, 1u);
  }
  EXPECT_EQ(ReadLines(o.path).size(), 3u);
}

TEST(FileSinkTest, EndsAPartialLineLeftByACrashedWriter) {
  TempDir dir;
  FileSinkOptions o;
  o.path = dir / "flows.jsonl";
  { std::ofstream(o.path) << "{\"complete\":1}\n{\"half"; }
  {
    auto sink = FileSink::Open(o);
    ASSERT_TRUE(sink.ok());
    (*sink)->WriteLine("{\"x\":1}");
  }
  EXPECT_EQ(ReadAll(o.path), "{\"complete\":1}\n{\"half\n{\"x\":1}\n");
}

TEST(FileSinkTest, RotatesBySizeBetweenLinesWithTimeNamedFiles) {
  TempDir dir;
  FakeClock clock;
  FileSinkOptions o;
  o.path = dir / "flows.jsonl";
  o.max_file_bytes = 100;  // 4 lines of 25 bytes (24 + newline)
  o.keep_files = 0;
  o.keep_bytes = 0;
  o.clock = clock.fn();
  auto sink = FileSink::Open(o);
  ASSERT_TRUE(sink.ok());
  for (int i = 0; i < 10; ++i) {
    (*sink)->WriteLine(Line(i, 24));
    (*sink)->Flush();  // one line per batch, so every rotation happens at a known clock
    clock.now += kNsPerSecond;
  }
  EXPECT_EQ(Names(dir.path()), (std::vector<std::string>{"flows-2026-12-01T19-33-38.123456789Z.jsonl",
                                                         "flows-2026-12-01T19-33-42.123456789Z.jsonl", "flows.jsonl"}));
  EXPECT_EQ(ReadLines(dir / "flows-2026-12-01T19-33-38.123456789Z.jsonl"),
            (std::vector<std::string>{Line(0, 24), Line(1, 24), Line(2, 24), Line(3, 24)}));
  EXPECT_EQ(ReadLines(dir / "flows-2026-12-01T19-33-42.123456789Z.jsonl"),
            (std::vector<std::string>{Line(4, 24), Line(5, 24), Line(6, 24), Line(7, 24)}));
  EXPECT_EQ(ReadLines(o.path), (std::vector<std::string>{Line(8, 24), Line(9, 24)}));
  EXPECT_EQ((*sink)->stats().rotations, 2u);
  EXPECT_EQ(RotatedSiblings(o.path), (std::vector<std::string>{dir / "flows-2026-12-01T19-33-38.123456789Z.jsonl",
                                                               dir / "flows-2026-12-01T19-33-42.123456789Z.jsonl"}));
}

TEST(FileSinkTest, ARefusedRotationIsRetriedWithBackoffNotOnEveryLine) {
  TempDir dir;
  FakeClock clock;
  FileSinkOptions o;
  o.path = dir / "flows.jsonl";
  o.max_file_bytes = 100;  // 4 lines of 25 bytes
  o.keep_files = 0;
  o.keep_bytes = 0;
  o.clock = clock.fn();
  auto sink = FileSink::Open(o);
  ASSERT_TRUE(sink.ok());
  // The name the first rotation takes is a directory that is not empty: rename() refuses it.
  std::filesystem::create_directories(std::filesystem::path(dir / "flows-2026-12-01T19-33-34.123456789Z.jsonl") / "x");
  for (int i = 0; i < 12; ++i) {
    (*sink)->WriteLine(Line(i, 24));
    (*sink)->Flush();
  }
  // Eight lines past the limit, one attempt: nothing lost, the file grew on.
  EXPECT_EQ((*sink)->stats().rotation_failures, 1u);
  EXPECT_EQ((*sink)->stats().rotations, 0u);
  EXPECT_EQ(ReadLines(o.path).size(), 12u);
  clock.now += kNsPerSecond / 2;  // within the backoff (1 s): no new attempt
  (*sink)->WriteLine(Line(12, 24));
  (*sink)->Flush();
  EXPECT_EQ((*sink)->stats().rotation_failures, 1u);
  EXPECT_EQ((*sink)->stats().rotations, 0u);
  clock.now += kNsPerSecond;  // past it: tried again, under a later name, which works
  (*sink)->WriteLine(Line(13, 24));
  (*sink)->Flush();
  EXPECT_EQ((*sink)->stats().rotation_failures, 1u);
  EXPECT_EQ((*sink)->stats().rotations, 1u);
  auto rotated = RotatedSiblings(o.path);
  ASSERT_EQ(rotated.size(), 2u);                 // the blocking directory has a rotated file's name too
  EXPECT_EQ(ReadLines(rotated[1]).size(), 13u);  // every line up to the rotation, none lost
  EXPECT_EQ(ReadLines(o.path), (std::vector<std::string>{Line(13, 24)}));
}

TEST(FileSinkTest, ALineLongerThanTheLimitGetsAFileOfItsOwn) {
  TempDir dir;
  FileSinkOptions o;
  o.path = dir / "flows.jsonl";
  o.max_file_bytes = 50;
  auto sink = FileSink::Open(o);
  ASSERT_TRUE(sink.ok());
  (*sink)->WriteLine(Line(1));
  (*sink)->WriteLine(Line(2, 120));
  (*sink)->WriteLine(Line(3));
  (*sink)->Flush();
  auto rotated = RotatedSiblings(o.path);
  ASSERT_EQ(rotated.size(), 2u);
  EXPECT_EQ(ReadLines(rotated[0]), std::vector<std::string>{Line(1)});
  EXPECT_EQ(ReadLines(rotated[1]), std::vector<std::string>{Line(2, 120)});
  EXPECT_EQ(ReadLines(o.path), std::vector<std::string>{Line(3)});
}

TEST(FileSinkTest, RotatesByAgeEvenWhenIdleButNeverAnEmptyFile) {
  TempDir dir;
  FakeClock clock;
  FileSinkOptions o;
  o.path = dir / "flows.jsonl";
  o.max_file_age_ns = 60 * kNsPerSecond;
  o.clock = clock.fn();
  auto sink = FileSink::Open(o);
  ASSERT_TRUE(sink.ok());
  clock.now += 61 * kNsPerSecond;
  (*sink)->Flush();
  EXPECT_EQ(Names(dir.path()), std::vector<std::string>{"flows.jsonl"});  // empty: not rotated
  (*sink)->WriteLine(Line(1));
  (*sink)->Flush();  // written and, as the file is older than 60 s, rotated
  EXPECT_EQ(Names(dir.path()), (std::vector<std::string>{"flows-2026-12-01T19-34-35.123456789Z.jsonl", "flows.jsonl"}));
  (*sink)->WriteLine(Line(2));
  clock.now += 30 * kNsPerSecond;
  (*sink)->Flush();
  EXPECT_EQ(RotatedSiblings(o.path).size(), 1u);  // the new file is 30 s old
  clock.now += 30 * kNsPerSecond;
  (*sink)->Flush();
  EXPECT_EQ(Names(dir.path()), (std::vector<std::string>{"flows-2026-12-01T19-34-35.123456789Z.jsonl",
                                                         "flows-2026-12-01T19-35-35.123456789Z.jsonl", "flows.jsonl"}));
  EXPECT_EQ(ReadLines(dir / "flows-2026-12-01T19-35-35.123456789Z.jsonl"), std::vector<std::string>{Line(2)});
}

TEST(FileSinkTest, RotatedNamesStrictlyIncreaseWhenTheClockStandsStill) {
  TempDir dir;
  FakeClock clock;
  FileSinkOptions o;
  o.path = dir / "flows.jsonl";
  o.max_file_bytes = 10;
  o.keep_files = 0;
  o.keep_bytes = 0;
  o.clock = clock.fn();
  auto sink = FileSink::Open(o);
  ASSERT_TRUE(sink.ok());
  for (int i = 0; i < 4; ++i) (*sink)->WriteLine(Line(i));
  (*sink)->Flush();
  EXPECT_EQ(Names(dir.path()), (std::vector<std::string>{"flows-2026-12-01T19-33-34.123456789Z.jsonl",
                                                         "flows-2026-12-01T19-33-34.123456790Z.jsonl",
                                                         "flows-2026-12-01T19-33-34.123456791Z.jsonl", "flows.jsonl"}));
  auto rotated = RotatedSiblings(o.path);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(ReadLines(rotated[i]), std::vector<std::string>{Line(i)});
  sink->reset();
  // A new sink (agent restart) keeps naming after the newest existing file.
  auto again = FileSink::Open(o);
  ASSERT_TRUE(again.ok());
  (*again)->WriteLine(Line(4));
  (*again)->Flush();
  EXPECT_EQ(RotatedSiblings(o.path).back(), dir / "flows-2026-12-01T19-33-34.123456792Z.jsonl");
}

TEST(FileSinkTest, RetentionByCountAndBytes) {
  TempDir dir;
  FakeClock clock;
  FileSinkOptions o;
  o.path = dir / "flows.jsonl";
  o.max_file_bytes = 25;  // one 24-byte line per file
  o.keep_files = 3;
  o.keep_bytes = 0;
  o.clock = clock.fn();
  {
    auto sink = FileSink::Open(o);
    ASSERT_TRUE(sink.ok());
    for (int i = 0; i < 10; ++i) {
      (*sink)->WriteLine(Line(i, 24));
      (*sink)->Flush();
      clock.now += kNsPerSecond;
    }
    EXPECT_EQ((*sink)->stats().files_removed, 6u);
  }
  auto rotated = RotatedSiblings(o.path);
  ASSERT_EQ(rotated.size(), 3u);
  EXPECT_EQ(ReadLines(rotated[0]), std::vector<std::string>{Line(6, 24)});
  EXPECT_EQ(ReadLines(rotated[2]), std::vector<std::string>{Line(8, 24)});
  EXPECT_EQ(ReadLines(o.path), std::vector<std::string>{Line(9, 24)});

  o.keep_files = 0;
  o.keep_bytes = 60;  // two files of 25 bytes
  auto sink = FileSink::Open(o);
  ASSERT_TRUE(sink.ok());
  (*sink)->WriteLine(Line(10, 24));
  (*sink)->Flush();
  rotated = RotatedSiblings(o.path);
  ASSERT_EQ(rotated.size(), 2u);
  EXPECT_EQ(ReadLines(rotated[0]), std::vector<std::string>{Line(8, 24)});
  EXPECT_EQ(ReadLines(rotated[1]), std::vector<std::string>{Line(9, 24)});
  // Files that only look alike are never touched.
  EXPECT_TRUE(std::filesystem::exists(o.path));
}

// Rotation under load: 4 threads write as fast as they can while the file rotates every
// 16 KiB (~4,000 rotations). Afterwards every line of every file parses, none is split or duplicated, and the
// lines written plus the drops the sink reported in its own `lost` records are exactly the
// lines offered.
TEST(FileSinkTest, RotationUnderLoadLosesNoLine) {
  TempDir dir;
  FileSinkOptions o;
  o.path = dir / "flows.jsonl";
  o.max_file_bytes = 16384;
  o.keep_files = 0;
  o.keep_bytes = 0;
  o.queue_lines = 1 << 20;        // big enough: nothing dropped
  o.fsync = FsyncPolicy::kNever;  // thousands of rotations: keep the test about rotation, not the disk
  o.node = "node-a";
  constexpr int kThreads = 4, kPerThread = 10000;
  {
    auto sink = FileSink::Open(o);
    ASSERT_TRUE(sink.ok());
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        FlowRecord r = testing::StartRecord();
        for (int i = 0; i < kPerThread; ++i) {
          r.flow_id = static_cast<uint64_t>(t) * kPerThread + i + 1;
          ASSERT_TRUE((*sink)->Write(r));
        }
      });
    }
    for (auto& th : threads) th.join();
    (*sink)->Flush();
    EXPECT_EQ((*sink)->stats().lines_written, uint64_t{kThreads} * kPerThread);
    EXPECT_GT((*sink)->stats().rotations, 100u);
  }
  std::vector<std::string> files = RotatedSiblings(o.path);
  files.push_back(o.path);
  std::vector<bool> seen(kThreads * kPerThread + 1);
  uint64_t lines = 0;
  for (const auto& f : files) {
    std::string all = ReadAll(f);
    ASSERT_FALSE(all.empty()) << f;
    ASSERT_EQ(all.back(), '\n') << f;
    EXPECT_LE(all.size(), 16384u) << f;
    for (const auto& l : ReadLines(f)) {
      auto r = ParseRecord(l);
      ASSERT_TRUE(r.ok()) << f << ": " << r.status().message() << ": " << l;
      ASSERT_FALSE(seen[r->flow_id]) << "duplicate " << r->flow_id;
      seen[r->flow_id] = true;
      ++lines;
    }
  }
  EXPECT_EQ(lines, uint64_t{kThreads} * kPerThread);
}

TEST(FileSinkTest, FullQueueDropsAreCountedAndReportedInTheLog) {
  TempDir dir;
  FileSinkOptions o;
  o.path = dir / "flows.jsonl";
  o.max_file_bytes = 64 * 1024;
  o.keep_files = 0;
  o.keep_bytes = 0;
  o.queue_lines = 2;
  o.fsync = FsyncPolicy::kEveryBatch;  // a slow writer
  o.node = "node-a";
  constexpr int kThreads = 4, kPerThread = 5000;
  std::atomic<uint64_t> accepted{0}, refused{0};
  {
    auto sink = FileSink::Open(o);
    ASSERT_TRUE(sink.ok());
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        for (int i = 0; i < kPerThread; ++i) ((*sink)->WriteLine(Line(i)) ? accepted : refused)++;
      });
    }
    for (auto& th : threads) th.join();
    (*sink)->Flush();
    EXPECT_EQ((*sink)->stats().queue_full, refused.load());
  }
  EXPECT_GT(refused.load(), 0u);
  std::vector<std::string> files = RotatedSiblings(o.path);
  files.push_back(o.path);
  uint64_t data = 0, lost = 0;
  for (const auto& f : files) {
    for (const auto& l : ReadLines(f)) {
      if (l.rfind("{\"n\":", 0) == 0) {
        ++data;
        continue;
      }
      auto r = ParseRecord(l);
      ASSERT_TRUE(r.ok()) << l;
      ASSERT_EQ(r->event, EventKind::kLost);
      EXPECT_EQ(r->lost_at, "sink-queue");
      EXPECT_EQ(r->node, "node-a");
      EXPECT_LE(r->since_ns, r->until_ns);
      lost += r->lost_events;
    }
  }
  EXPECT_EQ(data, accepted.load());
  EXPECT_EQ(lost, refused.load());
  EXPECT_EQ(data + lost, uint64_t{kThreads} * kPerThread);
}

// A disk that fills up (RLIMIT_FSIZE: writes past the limit fail with EFBIG, the last one
// partially): lines are counted, never split, and reported once the disk has room again.
TEST(FileSinkTest, DiskFullIsCountedNeverSplitsALineAndIsReportedLater) {
  TempDir dir;
  FileSinkOptions o;
  o.path = dir / "flows.jsonl";
  o.max_file_bytes = 0;
  o.node = "node-a";
  struct rlimit old {};
  getrlimit(RLIMIT_FSIZE, &old);
  signal(SIGXFSZ, SIG_IGN);
  auto sink = FileSink::Open(o);
  ASSERT_TRUE(sink.ok());
  struct rlimit small = old;
  small.rlim_cur = 1000;  // 1000 bytes: 40 lines of 25 bytes
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  // 100 lines of 25 bytes: the writes past 1000 bytes fail, one of them partly.
  for (int i = 0; i < 100; ++i) (*sink)->WriteLine(Line(i, 24));
  (*sink)->Flush();
  setrlimit(RLIMIT_FSIZE, &old);
  EXPECT_GE((*sink)->stats().write_errors, 60u);
  (*sink)->WriteLine(Line(100, 24));
  (*sink)->Flush();
  // Every line in the file is whole: a data line or a `lost` report. The data lines and the
  // reported losses add up to the 100 lines offered, and the reports to the error count.
  auto st = (*sink)->stats();
  auto lines = ReadLines(o.path);
  EXPECT_EQ(lines.size(), st.lines_written);
  EXPECT_EQ(ReadAll(o.path).back(), '\n');
  uint64_t data = 0, lost = 0;
  for (const auto& l : lines) {
    if (l.size() == 24 && l.rfind("{\"n\":", 0) == 0) {
      if (l != Line(100, 24)) ++data;
      continue;
    }
    auto r = ParseRecord(l);
    ASSERT_TRUE(r.ok()) << "not a whole line: " << l;
    EXPECT_EQ(r->event, EventKind::kLost);
    EXPECT_EQ(r->lost_at, "write-error");
    EXPECT_EQ(r->node, "node-a");
    lost += r->lost_events;
  }
  EXPECT_EQ(lost, st.write_errors);
  EXPECT_EQ(data + lost, 100u);
  EXPECT_EQ(std::count(lines.begin(), lines.end(), Line(100, 24)), 1);
}

TEST(FileSinkTest, AnUnwritableDeviceIsNotFatal) {
  FileSinkOptions o;
  o.path = "/dev/full";
  o.max_file_bytes = 0;
  auto sink = FileSink::Open(o);
  ASSERT_TRUE(sink.ok()) << sink.status().message();
  for (int i = 0; i < 10; ++i) (*sink)->WriteLine(Line(i));
  (*sink)->Flush();
  EXPECT_EQ((*sink)->stats().write_errors, 10u);
  EXPECT_EQ((*sink)->stats().lines_written, 0u);
}

TEST(FileSinkTest, OpenFailsCleanlyOnAnImpossiblePath) {
  FileSinkOptions o;
  o.path = "/proc/no-such-dir/flows.jsonl";
  auto sink = FileSink::Open(o);
  ASSERT_FALSE(sink.ok());
  EXPECT_NE(sink.status().message().find("cannot open /proc/no-such-dir/flows.jsonl"), std::string::npos);
}

}  // namespace
}  // namespace netfence::flowlog
