// SPDX-License-Identifier: Apache-2.0
#include "dataplane/flowlog/record_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "dataplane/flowlog/file_sink.h"

namespace netfence::flowlog {

namespace {

// The rotated siblings, complete up to the newest one returned. A directory listed while
// files are renamed into it may miss an entry renamed during the listing, though a later
// one shows up. Every file up to the newest of a first listing existed before a second
// listing started, so the second one has them all: keep its part up to that file. Newer
// ones are found on the next look.
std::vector<std::string> CompleteRotatedSiblings(const std::string& path) {
  std::vector<std::string> first = RotatedSiblings(path);
  if (first.empty()) return first;
  std::vector<std::string> second = RotatedSiblings(path);
  while (!second.empty() && second.back() > first.back()) second.pop_back();
  return second;
}

}  // namespace

FileRecordSource::FileRecordSource(FileSourceOptions options) : o_(std::move(options)) {
  std::vector<std::string> rotated = CompleteRotatedSiblings(o_.path);
  if (!rotated.empty()) last_rotated_ = rotated.back();
  if (o_.include_rotated) files_ = rotated;
  files_.push_back(o_.path);
}

FileRecordSource::~FileRecordSource() {
  if (fd_ >= 0) close(fd_);
}

std::string FileRecordSource::where() const { return current_ + ":" + std::to_string(line_no_); }

bool FileRecordSource::OpenNext() {
  while (next_file_ < files_.size()) {
    const std::string f = files_[next_file_++];  // a copy: files_ may grow below
    int fd = open(f.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      // A rotated file removed by retention meanwhile is no error; a missing live file is,
      // unless we follow it (it may appear).
      bool live = f == o_.path;
      if (live && o_.follow && errno == ENOENT) {
        --next_file_;
        return false;
      }
      if (live || errno != ENOENT) open_errors_.push_back(f + ": " + std::strerror(errno));
      continue;
    }
    if (f == o_.path && (o_.include_rotated || o_.follow) && RotatedSinceListing()) {
      // The writer rotated after we listed the files: read those first (the file just
      // opened may be one of them), then the live one.
      close(fd);
      QueueRotatedSince(/*skip_current=*/false);
      continue;
    }
    if (fd_ >= 0) close(fd_);
    fd_ = fd;
    current_ = f;
    line_no_ = 0;
    on_live_ = f == o_.path;
    if (!on_live_ && f > last_rotated_) last_rotated_ = f;
    struct stat st {};
    fstat(fd, &st);
    dev_ = st.st_dev;
    ino_ = st.st_ino;
    return true;
  }
  return false;
}

bool FileRecordSource::ReadMore() {
  if (fd_ < 0) return false;
  if (buf_pos_ > 0) {
    buf_.erase(0, buf_pos_);
    buf_pos_ = 0;
  }
  char chunk[65536];
  for (;;) {
    ssize_t n = read(fd_, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    buf_.append(chunk, static_cast<size_t>(n));
    return true;
  }
}

bool FileRecordSource::LiveFileReplaced() const {
  struct stat st {};
  if (stat(o_.path.c_str(), &st) != 0) return false;  // between rename and create: wait
  return st.st_dev != dev_ || st.st_ino != ino_;
}

void FileRecordSource::QueueRotatedSince(bool skip_current) {
  // Rotated files newer than the newest we read, oldest first, then the live file again. The
  // file we just finished (skip_current) is among them under its new name: found by inode.
  std::vector<std::string> queue;
  std::string newest = last_rotated_;
  for (const auto& f : CompleteRotatedSiblings(o_.path)) {
    if (f <= last_rotated_) continue;
    struct stat st {};
    if (skip_current && stat(f.c_str(), &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_) {
      newest = std::max(newest, f);
      continue;
    }
    queue.push_back(f);
  }
  last_rotated_ = newest;
  files_.insert(files_.begin() + static_cast<std::ptrdiff_t>(next_file_), queue.begin(), queue.end());
  files_.insert(files_.begin() + static_cast<std::ptrdiff_t>(next_file_ + queue.size()), o_.path);
}

bool FileRecordSource::RotatedSinceListing() const {
  for (const auto& f : RotatedSiblings(o_.path)) {
    if (f > last_rotated_) return true;
  }
  return false;
}

bool FileRecordSource::TakeLine(std::string* line, bool partial_too) {
  size_t nl = buf_.find('\n', buf_pos_);
  if (nl == std::string::npos && !(partial_too && buf_pos_ < buf_.size())) return false;
  size_t end = nl == std::string::npos ? buf_.size() : nl;
  line->assign(buf_, buf_pos_, end - buf_pos_);
  buf_pos_ = nl == std::string::npos ? buf_.size() : nl + 1;
  ++line_no_;
  return true;
}

void FileRecordSource::CloseCurrent() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  buf_.clear();
  buf_pos_ = 0;
}

bool FileRecordSource::NextLine(std::string* line) {
  for (;;) {
    if (stop_.load()) return false;
    if (TakeLine(line, false)) return true;
    if (fd_ >= 0 && ReadMore()) continue;
    // The open file (if any) is at its end.
    if (fd_ >= 0 && !on_live_) {
      if (TakeLine(line, true)) return true;  // a last line without newline ends with its file
      CloseCurrent();
    }
    if (fd_ < 0) {
      if (OpenNext()) continue;
      if (!o_.follow) return false;
      std::this_thread::sleep_for(std::chrono::nanoseconds(o_.poll_interval_ns));  // the live file may appear
      continue;
    }
    // At the end of the live file.
    if (!o_.follow) return TakeLine(line, true);
    if (LiveFileReplaced()) {
      // Rotated: the old file may have got lines between our last read and the rename.
      while (ReadMore()) {
      }
      if (TakeLine(line, true)) return true;
      CloseCurrent();
      QueueRotatedSince(/*skip_current=*/true);
      continue;
    }
    std::this_thread::sleep_for(std::chrono::nanoseconds(o_.poll_interval_ns));
  }
}

RecordSource::Result FileRecordSource::Next(FlowRecord* record, std::string* line, std::string* error) {
  if (!NextLine(line)) return Result::kEnd;
  auto r = ParseRecord(*line);
  if (!r.ok()) {
    *error = r.status().message();
    return Result::kMalformed;
  }
  *record = std::move(r).value();
  return Result::kRecord;
}

}  // namespace netfence::flowlog
