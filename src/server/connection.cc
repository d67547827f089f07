#include "server/connection.h"

#include <dirent.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <string>
#include <vector>

namespace r1::server {

namespace {

// Numeric host and port of a socket address, as httplib reports them.
bool HostPort(const sockaddr_storage& a, socklen_t len, std::string* host, int* port) {
  char h[NI_MAXHOST], s[NI_MAXSERV];
  if (::getnameinfo(reinterpret_cast<const sockaddr*>(&a), len, h, sizeof h, s, sizeof s,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
    return false;
  *host = h;
  *port = std::atoi(s);
  return true;
}

}  // namespace

ClientConnection::ClientConnection(const httplib::Request& req) {
  if (req.remote_port <= 0 || req.local_port <= 0) return;
  DIR* dir = ::opendir("/proc/self/fd");
  if (!dir) return;
  std::vector<int> by_port;  // descriptors whose port pair matches
  int by_address = -1;       // ... and whose addresses match too
  const int own = ::dirfd(dir);
  while (const dirent* e = ::readdir(dir)) {
    char* end = nullptr;
    const long fd = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0' || fd == own) continue;
    struct stat st;
    if (::fstat(static_cast<int>(fd), &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
    sockaddr_storage local{}, peer{};
    socklen_t local_len = sizeof local, peer_len = sizeof peer;
    if (::getsockname(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&local), &local_len) != 0) continue;
    if (::getpeername(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0) continue;
    std::string local_host, peer_host;
    int local_port = -1, peer_port = -1;
    if (!HostPort(local, local_len, &local_host, &local_port) || !HostPort(peer, peer_len, &peer_host, &peer_port))
      continue;
    if (local_port != req.local_port || peer_port != req.remote_port) continue;
    by_port.push_back(static_cast<int>(fd));
    if (peer_host == req.remote_addr && local_host == req.local_addr) by_address = static_cast<int>(fd);
  }
  ::closedir(dir);
  if (by_address >= 0) {
    fd_ = by_address;
  } else if (by_port.size() == 1) {
    fd_ = by_port[0];
  }
}

bool ClientConnection::closed() const {
  if (fd_ < 0) return false;
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, 0) <= 0) return false;
  if (p.revents & (POLLERR | POLLHUP | POLLNVAL)) return true;
  char c;
  const ssize_t n = ::recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n > 0) return false;  // the client sent more (a pipelined request)
  if (n == 0) return true;  // orderly close
  return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
}

namespace {

// The descriptor's socket inode when it is a connected socket whose local
// port is `port` (an accepted connection of the server), else 0.
uint64_t ServerSocket(int fd, int port) {
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) return 0;
  sockaddr_storage local{}, peer{};
  socklen_t local_len = sizeof local, peer_len = sizeof peer;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) != 0) return 0;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0) return 0;  // the listener
  std::string host;
  int local_port = -1;
  if (!HostPort(local, local_len, &host, &local_port) || local_port != port) return 0;
  return static_cast<uint64_t>(st.st_ino);
}

}  // namespace

ConnectionWatchdog::ConnectionWatchdog(int port, std::chrono::milliseconds header_timeout)
    : port_(port), header_timeout_(header_timeout), thread_([this] { Loop(); }) {}

ConnectionWatchdog::~ConnectionWatchdog() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void ConnectionWatchdog::Busy(int fd) {
  if (fd < 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  Conn& c = conns_[fd];
  if (c.inode == 0) c.inode = ServerSocket(fd, port_);
  c.busy = true;
}

void ConnectionWatchdog::Idle(int fd) {
  if (fd < 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = conns_.find(fd);
  if (it == conns_.end()) return;
  it->second.busy = false;
  it->second.since = std::chrono::steady_clock::now();
}

void ConnectionWatchdog::CloseIdle() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    close_idle_ = true;
  }
  cv_.notify_all();
}

void ConnectionWatchdog::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, std::chrono::milliseconds(200));
    if (stop_) break;
    lock.unlock();
    Scan();
    lock.lock();
  }
}

void ConnectionWatchdog::Scan() {
  // Which descriptors are the server's connections now (outside the lock:
  // a few syscalls per descriptor).
  std::unordered_map<int, uint64_t> now_open;
  if (DIR* dir = ::opendir("/proc/self/fd")) {
    const int own = ::dirfd(dir);
    while (const dirent* e = ::readdir(dir)) {
      char* end = nullptr;
      const long fd = std::strtol(e->d_name, &end, 10);
      if (end == e->d_name || *end != '\0' || fd == own) continue;
      if (uint64_t ino = ServerSocket(static_cast<int>(fd), port_)) now_open[static_cast<int>(fd)] = ino;
    }
    ::closedir(dir);
  }
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = conns_.begin(); it != conns_.end();) {
    auto o = now_open.find(it->first);
    if (o == now_open.end() || o->second != it->second.inode) {
      it = conns_.erase(it);  // closed (or the descriptor now holds another connection)
    } else {
      ++it;
    }
  }
  for (auto [fd, ino] : now_open) {
    auto [it, added] = conns_.try_emplace(fd);
    Conn& c = it->second;
    if (added) {
      c.inode = ino;
      c.since = now;
    }
    if (c.busy || c.shut) continue;
    if (!close_idle_ && now - c.since < header_timeout_) continue;
    // Still the same socket? (It could have been closed and the number reused since the scan.)
    if (ServerSocket(fd, port_) != c.inode) continue;
    ::shutdown(fd, SHUT_RDWR);
    c.shut = true;
    n_closed_.fetch_add(1);
  }
}

}  // namespace r1::server
