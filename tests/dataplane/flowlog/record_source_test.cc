// SPDX-License-Identifier: Apache-2.0
#include "dataplane/flowlog/record_source.h"

#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "dataplane/flowlog/file_sink.h"
#include "tests/dataplane/flowlog/records.h"
#include "tests/dataplane/flowlog/temp_dir.h"

namespace netfence::flowlog {
namespace {

using testing::kT0;
using testing::TempDir;

FlowRecord Numbered(uint64_t id) {
  FlowRecord r = testing::StartRecord();
  r.flow_id = id;
  r.time_ns = kT0 + static_cast<int64_t>(id);
  return r;
}

struct Read {
  std::vector<uint64_t> ids;
  std::vector<std::string> malformed;  // "where: error"
};

Read Drain(RecordSource* src, size_t stop_after = SIZE_MAX) {
  Read out;
  FlowRecord r;
  std::string line, error;
  for (;;) {
    auto res = src->Next(&r, &line, &error);
    if (res == RecordSource::Result::kEnd) break;
    if (res == RecordSource::Result::kMalformed) {
      out.malformed.push_back(src->where() + ": " + error);
      continue;
    }
    out.ids.push_back(r.flow_id);
    if (out.ids.size() == stop_after) break;
  }
  return out;
}

TEST(FileRecordSourceTest, ReadsRotatedFilesOldestFirstThenTheLiveOne) {
  TempDir dir;
  const std::string live = dir / "flows.jsonl";
  std::ofstream(dir / "flows-2026-12-01T10-00-00.000000000Z.jsonl") << ToJson(Numbered(1)) << "\n"
                                                                    << ToJson(Numbered(2)) << "\n";
  std::ofstream(dir / "flows-2026-12-01T09-00-00.000000000Z.jsonl") << ToJson(Numbered(0)) << "\n";
  std::ofstream(dir / "flows-notatime.jsonl") << ToJson(Numbered(99)) << "\n";  // not ours
  std::ofstream(dir / "other-2026-12-01T08-00-00.000000000Z.jsonl") << ToJson(Numbered(98)) << "\n";
  std::ofstream(live) << ToJson(Numbered(3)) << "\n" << ToJson(Numbered(4));  // last line without newline
  FileRecordSource src({.path = live});
  Read got = Drain(&src);
  EXPECT_EQ(got.ids, (std::vector<uint64_t>{0, 1, 2, 3, 4}));
  EXPECT_TRUE(got.malformed.empty());
  EXPECT_EQ(src.files(), (std::vector<std::string>{dir / "flows-2026-12-01T09-00-00.000000000Z.jsonl",
                                                   dir / "flows-2026-12-01T10-00-00.000000000Z.jsonl", live}));

  FileRecordSource only_live({.path = live, .include_rotated = false});
  EXPECT_EQ(Drain(&only_live).ids, (std::vector<uint64_t>{3, 4}));
}

TEST(FileRecordSourceTest, MalformedLinesAreReportedWithTheirPlaceAndSkipped) {
  TempDir dir;
  const std::string live = dir / "flows.jsonl";
  std::ofstream(live) << ToJson(Numbered(1)) << "\n"
                      << "garbage\n"
                      << "\n"
                      << R"({"schema":"netfence.flow/v1"})"
                      << "\n"
                      << ToJson(Numbered(2)) << "\n";
  FileRecordSource src({.path = live});
  Read got = Drain(&src);
  EXPECT_EQ(got.ids, (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(got.malformed, (std::vector<std::string>{live + ":2: not valid JSON", live + ":3: not valid JSON",
                                                     live + ":4: missing field \"time\""}));
}

TEST(FileRecordSourceTest, MissingFileIsAnOpenError) {
  TempDir dir;
  FileRecordSource src({.path = dir / "none.jsonl"});
  EXPECT_TRUE(Drain(&src).ids.empty());
  ASSERT_EQ(src.open_errors().size(), 1u);
  EXPECT_EQ(src.open_errors()[0], dir / "none.jsonl" + ": No such file or directory");
}

// Follow: a sink writes 20,000 records while rotating every 8 KiB and retention keeps every
// file; the follower started before the first line sees every record once, in order.
TEST(FileRecordSourceTest, FollowAcrossRotationsUnderLoadSeesEveryLineOnce) {
  TempDir dir;
  FileSinkOptions o;
  o.path = dir / "flows.jsonl";
  o.max_file_bytes = 8192;
  o.keep_files = 0;
  o.keep_bytes = 0;
  o.fsync = FsyncPolicy::kNever;
  auto sink = FileSink::Open(o);
  ASSERT_TRUE(sink.ok());
  constexpr uint64_t kN = 20000;
  FileRecordSource src({.path = o.path, .follow = true, .poll_interval_ns = 1'000'000});
  Read got;
  std::thread reader([&] { got = Drain(&src, kN); });
  for (uint64_t i = 1; i <= kN; ++i) {
    (*sink)->Write(Numbered(i));
    if (i % 500 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));  // let rotations interleave
  }
  (*sink)->Flush();
  std::thread watchdog([&] {
    for (int i = 0; i < 300 && got.ids.size() < kN; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    src.Stop();
  });
  reader.join();
  watchdog.join();
  EXPECT_GT((*sink)->stats().rotations, 50u);
  ASSERT_EQ(got.ids.size(), kN);
  for (uint64_t i = 0; i < kN; ++i) ASSERT_EQ(got.ids[i], i + 1);
  EXPECT_TRUE(got.malformed.empty());
}

TEST(FileRecordSourceTest, FollowWaitsForTheFileToAppearAndStops) {
  TempDir dir;
  const std::string live = dir / "flows.jsonl";
  FileRecordSource src({.path = live, .follow = true, .poll_interval_ns = 1'000'000});
  Read got;
  std::thread reader([&] { got = Drain(&src, 1); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::ofstream(live) << ToJson(Numbered(7)) << "\n";
  reader.join();
  EXPECT_EQ(got.ids, std::vector<uint64_t>{7});
  std::thread again([&] { got = Drain(&src); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  src.Stop();
  again.join();
  EXPECT_TRUE(got.ids.empty());
}

}  // namespace
}  // namespace netfence::flowlog
