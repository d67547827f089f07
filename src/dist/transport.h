// Messages between the processes of one job, for the runtime's pipeline
// (runtime/pipeline.h). The runtime sees only this interface; MPI lives
// behind it (transport_mpi.cc, built with -DR1_MPI=ON), so that the
// single-process build needs no MPI and the scheduler knows nothing of it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "r1/status.h"

namespace r1::dist {

// What went over the wire, for the pipeline's cost figures.
struct TransportStats {
  uint64_t messages_sent = 0;
  uint64_t bytes_sent = 0;
  double recv_wait_s = 0;  // time spent in Recv waiting for a message
};

class Transport {
 public:
  virtual ~Transport() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;

  // Queues `bytes` for rank `to` under `tag` and returns at once (the
  // transport owns the buffer until the message has gone).
  [[nodiscard]] virtual Status Send(int to, int tag, std::vector<uint8_t> bytes) = 0;
  // The next message from rank `from` under `tag`. Unavailable after
  // timeout_s seconds (<= 0: no limit), or stop_grace_s seconds after
  // RequestStop (a SIGTERM: mpirun sends it to every rank when one dies).
  [[nodiscard]] virtual StatusOr<std::vector<uint8_t>> Recv(int from, int tag, double timeout_s,
                                                            double stop_grace_s) = 0;
  // Ends the whole job (every rank exits with `code`).
  [[noreturn]] virtual void Abort(int code) = 0;

  virtual TransportStats stats() const = 0;
};

// The number of processes mpirun started this job with (Open MPI's, MPICH's
// or Slurm's environment), 0 when this process was not started by mpirun.
int LaunchedWorldSize();
// This process's rank in that job (from the same environment), 0 otherwise.
int LaunchedRank();

// Whether this build has MPI (-DR1_MPI=ON).
bool MpiAvailable();

// Joins the MPI job this process was started in (MPI_COMM_WORLD).
// Unimplemented in a build without MPI, naming the CMake option.
StatusOr<std::unique_ptr<Transport>> ConnectMpi();

// Makes every pending and later Recv give up after its stop grace.
// Async-signal-safe: for a SIGTERM handler, so that a rank waiting on a dead
// peer gives up before mpirun kills it.
void RequestStop();
bool StopRequested();

}  // namespace r1::dist
