// The single-process build: no MPI (see transport_mpi.cc).
#include "dist/transport.h"

namespace r1::dist {

bool MpiAvailable() { return false; }

StatusOr<std::unique_ptr<Transport>> ConnectMpi() {
  return Status::Unimplemented("this r1 was built without MPI: configure with -DR1_MPI=ON (Debian: libopenmpi-dev) "
                               "for --pipeline");
}

}  // namespace r1::dist
