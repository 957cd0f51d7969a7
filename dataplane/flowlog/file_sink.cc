// SPDX-License-Identifier: Apache-2.0
#include "dataplane/flowlog/file_sink.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "dataplane/flowlog/time_format.h"

namespace netfence::flowlog {

namespace fs = std::filesystem;

namespace {

constexpr size_t kMaxWriteChunk = 1 << 20;  // lines are written in chunks of at most ~1 MiB

struct PathParts {
  fs::path dir;
  std::string stem, ext;  // "flows", ".jsonl"
};
PathParts Split(const std::string& path) {
  fs::path p(path);
  PathParts parts;
  parts.dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  parts.stem = p.stem().string();
  parts.ext = p.extension().string();
  return parts;
}

// "2026-12-01T19-33-34.123456789Z" -> ns, or nullopt.
std::optional<int64_t> ParseFileNameTime(std::string_view s) {
  if (s.size() != 30 || s[13] != '-' || s[16] != '-') return std::nullopt;
  std::string t(s);
  t[13] = ':';
  t[16] = ':';
  return ParseTime(t);
}

std::optional<int64_t> RotatedTime(const PathParts& parts, const std::string& name) {
  const std::string prefix = parts.stem + "-";
  if (name.size() <= prefix.size() + parts.ext.size() || name.compare(0, prefix.size(), prefix) != 0 ||
      name.compare(name.size() - parts.ext.size(), parts.ext.size(), parts.ext) != 0) {
    return std::nullopt;
  }
  return ParseFileNameTime(
      std::string_view(name).substr(prefix.size(), name.size() - prefix.size() - parts.ext.size()));
}

}  // namespace

std::vector<std::string> RotatedSiblings(const std::string& path) {
  PathParts parts = Split(path);
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(parts.dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (RotatedTime(parts, name)) out.push_back((parts.dir / name).string());
  }
  std::sort(out.begin(), out.end());  // fixed-width UTC times: name order is time order
  return out;
}

FileSink::FileSink(FileSinkOptions options) : o_(std::move(options)) {
  if (!o_.clock) o_.clock = WallNowNs;
}

StatusOr<std::unique_ptr<FileSink>> FileSink::Open(FileSinkOptions options) {
  if (options.path.empty()) return Status::Error("flow log: empty file path");
  if (options.queue_lines == 0) options.queue_lines = 1;
  std::unique_ptr<FileSink> sink(new FileSink(std::move(options)));
  PathParts parts = Split(sink->o_.path);
  for (const auto& f : RotatedSiblings(sink->o_.path)) {
    if (auto t = RotatedTime(parts, fs::path(f).filename().string())) {
      sink->last_rotated_ns_ = std::max(sink->last_rotated_ns_, *t);
    }
  }
  Status s = sink->OpenCurrent();
  if (!s.ok()) return s;
  sink->writer_ = std::thread([p = sink.get()] {
    pthread_setname_np(pthread_self(), "nf-flowlog-file");  // for top -H, perf
    p->Run();
  });
  return sink;
}

Status FileSink::OpenCurrent() {
  std::error_code ec;
  fs::path p(o_.path);
  if (p.has_parent_path()) fs::create_directories(p.parent_path(), ec);
  int fd = open(o_.path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return Status::Error("flow log: cannot open " + o_.path + ": " + std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    int err = errno;
    close(fd);
    return Status::Error("flow log: cannot stat " + o_.path + ": " + std::strerror(err));
  }
  size_ = static_cast<uint64_t>(st.st_size);
  if (size_ > 0) {
    // A previous writer died mid-line: end that line, so ours start on a line of their own.
    char last = '\n';
    if (pread(fd, &last, 1, st.st_size - 1) == 1 && last != '\n' && write(fd, "\n", 1) == 1) ++size_;
  }
  fd_ = fd;
  opened_ns_ = o_.clock();
  return Status::Ok();
}

FileSink::~FileSink() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  if (fd_ >= 0) {
    if (o_.fsync != FsyncPolicy::kNever && dirty_) fdatasync(fd_);
    close(fd_);
  }
}

bool FileSink::Write(const FlowRecord& record) {
  std::string line;
  line.reserve(512);
  AppendJson(record, &line);
  return WriteLine(std::move(line));
}

bool FileSink::WriteLine(std::string line) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (queue_.size() < o_.queue_lines) {
      queue_.push_back(std::move(line));
      ++queued_seq_;
      if (queue_.size() == 1) cv_.notify_one();
      return true;
    }
  }
  queue_full_.fetch_add(1, std::memory_order_relaxed);
  queue_loss_.Add(1, o_.clock());
  return false;
}

void FileSink::Flush() {
  std::unique_lock<std::mutex> lk(mu_);
  uint64_t want = ++flush_seq_;
  cv_.notify_one();
  done_cv_.wait(lk, [&] { return done_seq_ >= want; });
}

FileSink::Stats FileSink::stats() const {
  Stats s;
  s.lines_written = lines_written_.load();
  s.bytes_written = bytes_written_.load();
  s.queue_full = queue_full_.load();
  s.write_errors = write_errors_.load();
  s.rotations = rotations_.load();
  s.rotation_failures = rotation_failures_.load();
  s.files_removed = files_removed_.load();
  return s;
}

namespace {
constexpr size_t kBatchLines = 256;
constexpr int64_t kRotateRetryMinNs = 1'000'000'000, kRotateRetryMaxNs = 60'000'000'000;
constexpr auto kGather = std::chrono::milliseconds(1);
}  // namespace

void FileSink::Run() {
  std::vector<std::string> batch;
  // Wake at least this often to rotate an idle file by age and to fsync by interval.
  const auto tick = std::chrono::milliseconds(200);
  for (;;) {
    uint64_t flush_seen;
    bool stopping;
    {
      std::unique_lock<std::mutex> lk(mu_);
      cv_.wait_for(lk, tick, [&] { return !queue_.empty() || stop_ || flush_seq_ != done_seq_; });
      // A few lines only: let more gather for a moment, so that a steady trickle of records
      // costs one write (and one wake-up) per millisecond rather than one per line.
      if (queue_.size() < kBatchLines && !stop_ && flush_seq_ == done_seq_) {
        cv_.wait_for(lk, kGather, [&] { return queue_.size() >= kBatchLines || stop_ || flush_seq_ != done_seq_; });
      }
      batch.swap(queue_);
      flush_seen = flush_seq_;
      stopping = stop_;
    }
    WriteBatch(&batch, /*report=*/false);
    batch.clear();
    WriteLossRecords();
    const int64_t now = o_.clock();
    if (o_.max_file_age_ns > 0 && size_ > 0 && now - opened_ns_ >= o_.max_file_age_ns) Rotate();
    MaybeFsync(false);
    {
      std::lock_guard<std::mutex> lk(mu_);
      done_seq_ = flush_seen;
      done_cv_.notify_all();
      if (stopping && queue_.empty()) break;
    }
  }
}

bool FileSink::WriteBatch(std::vector<std::string>* lines, bool report) {
  bool ok = true;
  std::string buf;
  size_t in_buf = 0;
  for (const auto& line : *lines) {
    const uint64_t need = line.size() + 1;
    if (o_.max_file_bytes > 0 && size_ + buf.size() > 0 && size_ + buf.size() + need > o_.max_file_bytes) {
      if (in_buf) ok &= WriteBuffer(buf, in_buf, report);
      buf.clear();
      in_buf = 0;
      Rotate();
    }
    buf.append(line);
    buf.push_back('\n');
    ++in_buf;
    if (buf.size() >= kMaxWriteChunk) {
      ok &= WriteBuffer(buf, in_buf, report);
      buf.clear();
      in_buf = 0;
    }
  }
  if (in_buf) ok &= WriteBuffer(buf, in_buf, report);
  return ok;
}

bool FileSink::WriteBuffer(const std::string& buf, size_t lines, bool report) {
  if (fd_ < 0 && !OpenCurrent().ok()) {
    CountRefused(lines, report);
    return false;
  }
  size_t off = 0;
  while (off < buf.size()) {
    ssize_t n = write(fd_, buf.data() + off, buf.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      // Take back what went in, so no half line stays; the lines are counted as lost.
      if (off > 0 && ftruncate(fd_, static_cast<off_t>(size_)) != 0) {
        // Could not: end the fragment so the next line stands alone (a reader skips it).
        if (write(fd_, "\n", 1) == 1) size_ += off + 1;
      }
      CountRefused(lines, report);
      return false;
    }
    off += static_cast<size_t>(n);
  }
  size_ += buf.size();
  dirty_ = true;
  lines_written_.fetch_add(lines, std::memory_order_relaxed);
  bytes_written_.fetch_add(buf.size(), std::memory_order_relaxed);
  if (o_.fsync == FsyncPolicy::kEveryBatch) MaybeFsync(true);
  return true;
}

void FileSink::CountRefused(size_t lines, bool report) {
  if (report) return;  // a `lost` report: its caller keeps the count
  write_errors_.fetch_add(lines, std::memory_order_relaxed);
  write_loss_.Add(lines, o_.clock());
}

void FileSink::WriteLossRecords() {
  for (LossTracker* t : {&queue_loss_, &write_loss_}) {
    auto r = t->TakeRecord(o_.clock(), o_.node);
    if (!r) continue;
    std::vector<std::string> one{ToJson(*r)};
    // A report that cannot be written gives its count back, for the next round.
    if (!WriteBatch(&one, /*report=*/true)) t->Add(r->lost_events, r->since_ns);
  }
}

void FileSink::MaybeFsync(bool force) {
  if (fd_ < 0 || !dirty_) return;
  const int64_t now = o_.clock();
  bool due = force || o_.fsync == FsyncPolicy::kEveryBatch ||
             (o_.fsync == FsyncPolicy::kInterval && now - last_fsync_ns_ >= o_.fsync_interval_ns);
  if (!due) return;
  fdatasync(fd_);
  last_fsync_ns_ = now;
  dirty_ = false;
}

void FileSink::Rotate() {
  if (fd_ < 0) return;
  const int64_t now = o_.clock();
  if (now < rotate_retry_at_ns_) return;  // a refused rename backs off: the file grows meanwhile
  const int64_t ts = std::max(now, last_rotated_ns_ + 1);
  PathParts parts = Split(o_.path);
  fs::path rotated = parts.dir / (parts.stem + "-" + FormatTimeForFileName(ts) + parts.ext);
  // Renamed while open (the descriptor follows the file), so a refusal leaves everything as it
  // was and the lines keep going to the current file.
  if (rename(o_.path.c_str(), rotated.c_str()) != 0) {
    rotation_failures_.fetch_add(1, std::memory_order_relaxed);
    rotate_backoff_ns_ = std::clamp<int64_t>(rotate_backoff_ns_ * 2, kRotateRetryMinNs, kRotateRetryMaxNs);
    rotate_retry_at_ns_ = now + rotate_backoff_ns_;
    return;
  }
  rotate_backoff_ns_ = 0;
  rotate_retry_at_ns_ = 0;
  last_rotated_ns_ = ts;
  rotations_.fetch_add(1, std::memory_order_relaxed);
  if (o_.fsync != FsyncPolicy::kNever && dirty_) fdatasync(fd_);
  dirty_ = false;
  close(fd_);
  fd_ = -1;
  (void)OpenCurrent();  // on failure the next write retries (and counts what it cannot write)
  ApplyRetention();
}

void FileSink::ApplyRetention() {
  if (o_.keep_files == 0 && o_.keep_bytes == 0) return;
  std::vector<std::string> files = RotatedSiblings(o_.path);
  std::vector<uint64_t> sizes;
  uint64_t total = 0;
  for (const auto& f : files) {
    std::error_code ec;
    uint64_t s = fs::file_size(f, ec);
    sizes.push_back(ec ? 0 : s);
    total += sizes.back();
  }
  size_t count = files.size();
  for (size_t i = 0; i < files.size(); ++i) {
    bool too_many = o_.keep_files > 0 && count > o_.keep_files;
    bool too_big = o_.keep_bytes > 0 && total > o_.keep_bytes;
    if (!too_many && !too_big) break;
    std::error_code ec;
    if (fs::remove(files[i], ec)) files_removed_.fetch_add(1, std::memory_order_relaxed);
    --count;
    total -= sizes[i];
  }
}

}  // namespace netfence::flowlog
