// The MPI transport: point-to-point messages on MPI_COMM_WORLD. Sends are
// non-blocking (MPI_Isend, buffers kept until done), so a stage hands its
// output on and starts the next micro-batch at once. Receives poll
// (MPI_Iprobe), so a wait can time out or be stopped by a signal, which a
// blocking MPI_Recv cannot.
#include <mpi.h>

#include <chrono>
#include <deque>
#include <thread>

#include "dist/transport.h"

namespace r1::dist {
namespace {

class MpiTransport final : public Transport {
 public:
  MpiTransport(int rank, int size) : rank_(rank), size_(size) {}
  ~MpiTransport() override {
    while (!out_.empty()) {
      MPI_Wait(&out_.front().req, MPI_STATUS_IGNORE);
      out_.pop_front();
    }
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }

  Status Send(int to, int tag, std::vector<uint8_t> bytes) override {
    Reap();
    if (bytes.size() > static_cast<size_t>(INT32_MAX))
      return Status::InvalidArgument("MPI: a message of " + std::to_string(bytes.size()) + " bytes to rank " +
                                     std::to_string(to) + " is over 2 GiB");
    out_.push_back({std::move(bytes), MPI_REQUEST_NULL});
    Outgoing& o = out_.back();
    const int rc = MPI_Isend(o.bytes.data(), static_cast<int>(o.bytes.size()), MPI_BYTE, to, tag, MPI_COMM_WORLD,
                             &o.req);
    if (rc != MPI_SUCCESS) {
      out_.pop_back();
      return Status::Internal("MPI: sending to rank " + std::to_string(to) + " failed (" + ErrorText(rc) + ")");
    }
    ++stats_.messages_sent;
    stats_.bytes_sent += o.bytes.size();
    return Status::Ok();
  }

  StatusOr<std::vector<uint8_t>> Recv(int from, int tag, double timeout_s, double stop_grace_s) override {
    const auto t0 = std::chrono::steady_clock::now();
    std::chrono::steady_clock::time_point stop_seen{};
    for (int spin = 0;; ++spin) {
      int flag = 0;
      MPI_Status st;
      const int rc = MPI_Iprobe(from, tag, MPI_COMM_WORLD, &flag, &st);
      if (rc != MPI_SUCCESS)
        return Status::Internal("MPI: probing rank " + std::to_string(from) + " failed (" + ErrorText(rc) + ")");
      if (flag) {
        int count = 0;
        MPI_Get_count(&st, MPI_BYTE, &count);
        std::vector<uint8_t> buf(static_cast<size_t>(count));
        const int rr = MPI_Recv(buf.data(), count, MPI_BYTE, from, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        if (rr != MPI_SUCCESS)
          return Status::Internal("MPI: receiving from rank " + std::to_string(from) + " failed (" + ErrorText(rr) +
                                  ")");
        stats_.recv_wait_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        return buf;
      }
      Reap();
      if (StopRequested()) {
        const auto now = std::chrono::steady_clock::now();
        if (stop_seen == std::chrono::steady_clock::time_point{}) stop_seen = now;
        if (std::chrono::duration<double>(now - stop_seen).count() >= stop_grace_s)
          return Status::Unavailable("the job is ending (SIGTERM: mpirun sends it when a rank has died)");
      }
      const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (timeout_s > 0 && waited > timeout_s)
        return Status::Unavailable("no message from rank " + std::to_string(from) + " in " +
                                        std::to_string(static_cast<int>(timeout_s)) + " s");
      // Spin briefly (a stage's answer is often microseconds away), then
      // sleep, leaving the cores to the ranks that compute.
      if (spin > 200) std::this_thread::sleep_for(std::chrono::microseconds(spin > 5000 ? 500 : 20));
    }
  }

  [[noreturn]] void Abort(int code) override {
    MPI_Abort(MPI_COMM_WORLD, code);
    std::_Exit(code);
  }

  TransportStats stats() const override { return stats_; }

 private:
  struct Outgoing {
    std::vector<uint8_t> bytes;
    MPI_Request req;
  };

  void Reap() {
    while (!out_.empty()) {
      int done = 0;
      MPI_Test(&out_.front().req, &done, MPI_STATUS_IGNORE);
      if (!done) break;
      out_.pop_front();
    }
  }

  static std::string ErrorText(int rc) {
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, text, &len);
    return std::string(text, static_cast<size_t>(len));
  }

  int rank_, size_;
  std::deque<Outgoing> out_;
  TransportStats stats_;
};

}  // namespace

bool MpiAvailable() { return true; }

StatusOr<std::unique_ptr<Transport>> ConnectMpi() {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (initialized) return Status::FailedPrecondition("MPI: this process has joined its job already");
  int provided = 0;
  // Serialized: the scheduler's step thread makes the calls, one at a time.
  if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS)
    return Status::Unavailable("MPI: MPI_Init_thread failed");
  if (provided < MPI_THREAD_SERIALIZED)
    return Status::Unimplemented("MPI: the library does not allow calls from more than one thread");
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  int rank = 0, size = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return std::unique_ptr<Transport>(new MpiTransport(rank, size));
}

}  // namespace r1::dist
