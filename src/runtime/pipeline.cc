#include "runtime/pipeline.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <thread>

#include <unistd.h>

namespace r1 {
namespace {

constexpr int kTagForward = 1;  // rank r → r+1: a micro-batch (or the shutdown)
constexpr int kTagLogits = 2;   // last rank → 0: a micro-batch's logits

enum : uint32_t { kMsgForward = 1, kMsgShutdown = 2 };

// Little-endian, fixed-width fields; every read is bounds-checked.
class Writer {
 public:
  template <typename T>
  void Put(const T& v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    buf_.insert(buf_.end(), p, p + sizeof(T));
  }
  template <typename T>
  void PutArray(const T* v, size_t n) {
    Put<uint64_t>(n);
    const auto* p = reinterpret_cast<const uint8_t*>(v);
    buf_.insert(buf_.end(), p, p + n * sizeof(T));
  }
  std::vector<uint8_t> Take() { return std::move(buf_); }

 private:
  std::vector<uint8_t> buf_;
};

class Reader {
 public:
  explicit Reader(const std::vector<uint8_t>& b) : b_(b) {}
  template <typename T>
  bool Get(T* v) {
    if (b_.size() - at_ < sizeof(T)) return false;
    std::memcpy(v, b_.data() + at_, sizeof(T));
    at_ += sizeof(T);
    return true;
  }
  template <typename T>
  bool GetArray(std::vector<T>* v) {
    uint64_t n = 0;
    if (!Get(&n) || n > (b_.size() - at_) / sizeof(T)) return false;
    v->resize(static_cast<size_t>(n));
    if (n) std::memcpy(v->data(), b_.data() + at_, static_cast<size_t>(n) * sizeof(T));
    at_ += static_cast<size_t>(n) * sizeof(T);
    return true;
  }
  bool done() const { return at_ == b_.size(); }

 private:
  const std::vector<uint8_t>& b_;
  size_t at_ = 0;
};

// A forward message: the cache changes to replay first, the batch, and (for
// every stage after the first) the hidden rows entering it.
struct ForwardMsg {
  uint32_t kind = kMsgForward;
  uint32_t micro = 0;  // index of the micro-batch within its Forward
  std::vector<KvOp> ops;
  Batch batch;
  std::vector<float> hidden;
};

std::vector<uint8_t> Encode(const ForwardMsg& m) {
  Writer w;
  w.Put(m.kind);
  w.Put(m.micro);
  w.Put<uint64_t>(m.ops.size());
  for (const KvOp& op : m.ops) {
    w.Put<int32_t>(op.kind);
    w.Put(op.seq);
    w.Put(op.n);
    w.PutArray(op.blocks.data(), op.blocks.size());
  }
  w.PutArray(m.batch.tokens.data(), m.batch.tokens.size());
  w.PutArray(m.batch.pos.data(), m.batch.pos.size());
  w.PutArray(m.batch.seq.data(), m.batch.seq.size());
  w.PutArray(m.batch.logits.data(), m.batch.logits.size());
  w.PutArray(m.hidden.data(), m.hidden.size());
  return w.Take();
}

Status Decode(const std::vector<uint8_t>& b, int from, ForwardMsg* m) {
  Reader r(b);
  uint64_t n_ops = 0;
  bool ok = r.Get(&m->kind) && r.Get(&m->micro) && r.Get(&n_ops) && n_ops <= b.size();
  for (uint64_t i = 0; ok && i < n_ops; ++i) {
    KvOp op;
    int32_t kind = 0;
    ok = r.Get(&kind) && r.Get(&op.seq) && r.Get(&op.n) && r.GetArray(&op.blocks);
    op.kind = static_cast<KvOp::Kind>(kind);
    m->ops.push_back(std::move(op));
  }
  ok = ok && r.GetArray(&m->batch.tokens) && r.GetArray(&m->batch.pos) && r.GetArray(&m->batch.seq) &&
       r.GetArray(&m->batch.logits) && r.GetArray(&m->hidden) && r.done();
  if (!ok || (m->kind != kMsgForward && m->kind != kMsgShutdown))
    return Status::DataLoss("pipeline: a malformed message of " + std::to_string(b.size()) + " bytes from rank " +
                            std::to_string(from));
  return Status::Ok();
}

// Bytes of layer il's tensors ("blk.IL."), of the embedding table and of the head.
struct LayerBytes {
  std::vector<uint64_t> layer;
  uint64_t embd = 0, head = 0;
};

LayerBytes CountBytes(const gguf::File& f, int n_layer) {
  LayerBytes b;
  b.layer.assign(static_cast<size_t>(std::max(n_layer, 0)), 0);
  for (const gguf::TensorInfo& t : f.tensors()) {
    if (t.name == "token_embd.weight") {
      b.embd += t.nbytes;
    } else if (t.name == "output.weight" || t.name == "output_norm.weight") {
      b.head += t.nbytes;
    } else if (t.name.rfind("blk.", 0) == 0) {
      const int il = std::atoi(t.name.c_str() + 4);
      if (il >= 0 && il < n_layer) b.layer[static_cast<size_t>(il)] += t.nbytes;
    }
  }
  return b;
}

double Seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int LayerCount(const gguf::File& f) {
  const std::string arch = f.GetStringOr("general.architecture", "");
  return static_cast<int>(f.GetIntOr(arch + ".block_count", 0) - f.GetIntOr(arch + ".nextn_predict_layers", 0));
}

std::string StageName(const StageOptions& s, int n_layer) {
  const int last = s.last < 0 ? n_layer : s.last;
  return "layers " + std::to_string(s.first) + "-" + std::to_string(last - 1);
}

uint64_t StageBytes(const gguf::File& f, const StageOptions& s, int n_layer) {
  const LayerBytes b = CountBytes(f, n_layer);
  const int last = s.last < 0 ? n_layer : s.last;
  uint64_t sum = (s.first == 0 ? b.embd : 0) + (s.head ? b.head : 0);
  for (int il = s.first; il < last && il < n_layer; ++il) sum += b.layer[static_cast<size_t>(il)];
  return sum;
}

StatusOr<std::vector<StageOptions>> PlanStages(const gguf::File& f, int n_stages, const std::string& spec) {
  const int n_layer = LayerCount(f);
  if (n_layer <= 0) return Status::InvalidArgument(f.path() + ": no layer count for a pipeline");
  if (n_stages < 2 || n_stages > n_layer)
    return Status::InvalidArgument("--pipeline " + std::to_string(n_stages) + ": needs 2.." +
                                   std::to_string(n_layer) + " stages (the model has " + std::to_string(n_layer) +
                                   " layers)");
  std::vector<StageOptions> out;
  if (!spec.empty()) {
    size_t at = 0;
    int next = 0;
    while (at <= spec.size()) {
      const size_t comma = std::min(spec.find(',', at), spec.size());
      const std::string item = spec.substr(at, comma - at);
      int a = -1, b = -1;
      char tail = 0;
      if (std::sscanf(item.c_str(), "%d-%d%c", &a, &b, &tail) != 2 || a != next || b < a || b >= n_layer)
        return Status::InvalidArgument("--stage-layers '" + spec + "': '" + item + "' must be FIRST-LAST starting at " +
                                       std::to_string(next) + " (layers 0-" + std::to_string(n_layer - 1) +
                                       ", in order, each once)");
      StageOptions s;
      s.first = a;
      s.last = b + 1;
      s.head = false;
      out.push_back(s);
      next = b + 1;
      at = comma + 1;
    }
    if (next != n_layer || static_cast<int>(out.size()) != n_stages)
      return Status::InvalidArgument("--stage-layers '" + spec + "': must cover layers 0-" +
                                     std::to_string(n_layer - 1) + " in " + std::to_string(n_stages) +
                                     " ranges (one per --pipeline stage)");
  } else {
    // Contiguous ranges minimising the largest stage's bytes (dynamic
    // programming over prefix sums: best[k][i] is the smallest possible
    // largest stage when layers [0, i) form k stages).
    const LayerBytes b = CountBytes(f, n_layer);
    std::vector<uint64_t> pre(static_cast<size_t>(n_layer) + 1, 0);
    for (int il = 0; il < n_layer; ++il)
      pre[static_cast<size_t>(il) + 1] = pre[static_cast<size_t>(il)] + b.layer[static_cast<size_t>(il)] +
                                         (il == 0 ? b.embd : 0) + (il == n_layer - 1 ? b.head : 0);
    const size_t L = static_cast<size_t>(n_layer), K = static_cast<size_t>(n_stages);
    const uint64_t kInf = ~uint64_t{0};
    std::vector<std::vector<uint64_t>> best(K + 1, std::vector<uint64_t>(L + 1, kInf));
    std::vector<std::vector<size_t>> cut(K + 1, std::vector<size_t>(L + 1, 0));
    best[0][0] = 0;
    for (size_t k = 1; k <= K; ++k)
      for (size_t i = k; i <= L; ++i)
        for (size_t j = k - 1; j < i; ++j) {
          if (best[k - 1][j] == kInf) continue;
          const uint64_t v = std::max(best[k - 1][j], pre[i] - pre[j]);
          if (v < best[k][i]) {
            best[k][i] = v;
            cut[k][i] = j;
          }
        }
    std::vector<int> starts(K);
    for (size_t k = K, i = L; k > 0; --k) {
      starts[k - 1] = static_cast<int>(cut[k][i]);
      i = cut[k][i];
    }
    for (size_t i = 0; i < starts.size(); ++i) {
      StageOptions s;
      s.first = starts[i];
      s.last = i + 1 < starts.size() ? starts[i + 1] : n_layer;
      s.head = false;
      out.push_back(s);
    }
  }
  out.back().head = true;
  return out;
}

PipelineModel::PipelineModel(std::unique_ptr<Model> stage0, std::unique_ptr<dist::Transport> transport,
                             std::vector<StageOptions> stages, int n_layer, double timeout_s, bool verbose)
    : verbose_(verbose),
      stage0_(std::move(stage0)),
      transport_(std::move(transport)),
      stages_(std::move(stages)),
      n_layer_(n_layer),
      timeout_s_(timeout_s) {}

PipelineModel::~PipelineModel() {
  if (verbose_ && stats_.forwards > 0) {
    const double tok = static_cast<double>(stats_.tokens), busy = stats_.stage0_s + stats_.wait_s;
    std::fprintf(stderr,
                 "r1: pipeline: %llu forward passes (%llu micro-batches, %llu tokens); rank 0 sent %.0f bytes/token to "
                 "rank 1, ran stage 0 for %.1f us/token and waited %.1f us/token for the last stage's logits "
                 "(%.0f%% of its time)\n",
                 static_cast<unsigned long long>(stats_.forwards), static_cast<unsigned long long>(stats_.micro_batches),
                 static_cast<unsigned long long>(stats_.tokens), static_cast<double>(stats_.bytes_sent) / tok,
                 1e6 * stats_.stage0_s / tok, 1e6 * stats_.wait_s / tok, busy > 0 ? 100 * stats_.wait_s / busy : 0.0);
  }
  // A broken pipeline cannot finalize (a dead rank never joins): end the job.
  if (!broken_.ok()) {
    std::fflush(nullptr);
    transport_->Abort(1);
  }
  // The shutdown travels down the ranks; the transport's destructor waits
  // for the send, then MPI_Finalize meets the other ranks'.
  ForwardMsg bye;
  bye.kind = kMsgShutdown;
  if (!transport_->Send(1, kTagForward, Encode(bye)).ok()) transport_->Abort(1);
}

Status PipelineModel::Broken(Status s) {
  std::string plan;
  for (size_t r = 0; r < stages_.size(); ++r)
    plan += (r ? ", " : "") + std::string("rank ") + std::to_string(r) + ": " + StageName(stages_[r], n_layer_);
  broken_ = Status::Unavailable(s.message() + " (pipeline: " + plan + "); ending the job");
  std::fprintf(stderr, "r1: rank 0: %s\n", broken_.message().c_str());
  // The request that met the failure gets its error first; then the whole
  // job ends, so that no rank waits forever on a dead peer.
  dist::Transport* t = transport_.get();
  std::thread([t] {
    std::this_thread::sleep_for(std::chrono::seconds(2));
    std::fflush(nullptr);
    t->Abort(1);
  }).detach();
  return broken_;
}

Status PipelineModel::Forward(const Batch& batch, KvCache& cache, float* logits, ThreadPool& pool) {
  if (!broken_.ok()) return broken_;
  const int64_t n = batch.size();
  if (n == 0) return Status::Ok();
  const ModelInfo& mi = stage0_->info();
  R1_RETURN_IF_ERROR(ValidateBatch(batch, mi.n_vocab, cache));

  // Micro-batches of whole sequences, balanced by tokens (largest first into
  // the lightest), at most one per stage; rows keep their batch order.
  GroupBySequence(batch, &groups_);
  const size_t n_micro = std::min(groups_.size(), stages_.size());
  std::vector<size_t> order(groups_.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return groups_[a].rows.size() > groups_[b].rows.size(); });
  std::vector<int> micro_of_row(static_cast<size_t>(n), 0);
  std::vector<size_t> load(n_micro, 0);
  for (size_t g : order) {
    const size_t m = static_cast<size_t>(std::min_element(load.begin(), load.end()) - load.begin());
    load[m] += groups_[g].rows.size();
    for (int64_t row : groups_[g].rows) micro_of_row[static_cast<size_t>(row)] = static_cast<int>(m);
  }
  // Each output row's place in `logits` (batch order over the rows asking).
  std::vector<std::vector<int64_t>> out_rows(n_micro);
  int64_t n_out = 0;
  std::vector<Batch> micro(n_micro);
  for (int64_t t = 0; t < n; ++t) {
    const size_t m = static_cast<size_t>(micro_of_row[static_cast<size_t>(t)]);
    micro[m].Add(batch.tokens[t], batch.pos[t], batch.seq[t], batch.logits[t] != 0);
    if (batch.logits[t]) out_rows[m].push_back(n_out++);
  }

  const int64_t E = mi.n_embd, V = mi.n_vocab;
  const int last = static_cast<int>(stages_.size()) - 1;
  for (size_t m = 0; m < n_micro; ++m) {
    ForwardMsg msg;
    msg.micro = static_cast<uint32_t>(m);
    if (m == 0) msg.ops = std::move(journal_);
    journal_.clear();
    msg.hidden.resize(static_cast<size_t>(micro[m].size() * E));
    const auto t0 = std::chrono::steady_clock::now();
    Status st = stage0_->ForwardStage(micro[m], cache, nullptr, msg.hidden.data(), nullptr, pool);
    stats_.stage0_s += Seconds(t0);
    if (!st.ok()) return Broken(st.WithContext("rank 0, " + StageName(stages_[0], n_layer_)));
    msg.batch = std::move(micro[m]);
    std::vector<uint8_t> bytes = Encode(msg);
    stats_.bytes_sent += bytes.size();
    st = transport_->Send(1, kTagForward, std::move(bytes));
    if (!st.ok()) return Broken(st);
  }
  for (size_t m = 0; m < n_micro; ++m) {
    const auto t0 = std::chrono::steady_clock::now();
    // After a SIGTERM, wait three times the slowest answer so far (0.5-30 s):
    // a healthy pipeline still answers, a dead rank's never comes.
    auto r = transport_->Recv(last, kTagLogits, timeout_s_, std::clamp(3 * slowest_s_, 0.5, 30.0));
    const double waited = Seconds(t0);
    stats_.wait_s += waited;
    if (r.ok()) slowest_s_ = std::max(slowest_s_, waited);
    if (!r.ok())
      return Broken(Status::Unavailable("waiting for rank " + std::to_string(last) + " (the last stage) to return "
                                        "the logits of micro-batch " + std::to_string(m + 1) + "/" +
                                        std::to_string(n_micro) + " of a forward pass of " + std::to_string(n) +
                                        " tokens: " + r.status().message() + " (--stage-timeout " +
                                        std::to_string(static_cast<int>(timeout_s_)) + " s); a rank has died or stalled"));
    Reader rd(*r);
    uint32_t micro_no = 0;
    std::vector<float> rows;
    if (!rd.Get(&micro_no) || !rd.GetArray(&rows) || !rd.done() || micro_no >= n_micro ||
        rows.size() != out_rows[micro_no].size() * static_cast<size_t>(V))
      return Broken(Status::DataLoss("rank " + std::to_string(last) + " sent malformed logits"));
    for (size_t i = 0; i < out_rows[micro_no].size(); ++i)
      std::copy_n(rows.data() + i * static_cast<size_t>(V), V, logits + out_rows[micro_no][i] * V);
  }
  ++stats_.forwards;
  stats_.micro_batches += n_micro;
  stats_.tokens += static_cast<uint64_t>(n);
  return Status::Ok();
}

Status RunPipelineStage(dist::Transport& t, Model& stage, KvCache& cache, ThreadPool& pool, const StageOptions& so,
                        int64_t n_embd, int64_t n_vocab) {
  const int rank = t.rank(), last = t.size() - 1;
  const std::string who = "rank " + std::to_string(rank) + ": ";
  std::vector<float> logits;
  for (;;) {
    // No time limit: an idle server sends nothing for as long as it is idle.
    // After a SIGTERM, rank 0 has 30 s to finish and send the shutdown.
    auto r = t.Recv(rank - 1, kTagForward, 0, 30);
    if (!r.ok()) return r.status().WithContext(who + "waiting for rank " + std::to_string(rank - 1));
    ForwardMsg msg;
    R1_RETURN_IF_ERROR(Decode(*r, rank - 1, &msg));
    if (msg.kind == kMsgShutdown) {
      if (rank < last) R1_RETURN_IF_ERROR(t.Send(rank + 1, kTagForward, std::move(*r)));
      return Status::Ok();
    }
    for (const KvOp& op : msg.ops) R1_RETURN_IF_ERROR(cache.Apply(op).WithContext(who));
    const int64_t n = msg.batch.size();
    if (static_cast<int64_t>(msg.hidden.size()) != n * n_embd)
      return Status::DataLoss(who + "a batch of " + std::to_string(n) + " tokens came with " +
                              std::to_string(msg.hidden.size()) + " hidden values");
    if (so.head) {
      logits.resize(static_cast<size_t>(msg.batch.n_outputs() * n_vocab));
      R1_RETURN_IF_ERROR(stage.ForwardStage(msg.batch, cache, msg.hidden.data(), nullptr, logits.data(), pool)
                             .WithContext(who + "forward pass"));
      Writer w;
      w.Put(msg.micro);
      w.PutArray(logits.data(), logits.size());
      R1_RETURN_IF_ERROR(t.Send(0, kTagLogits, w.Take()));
    } else {
      std::vector<float> out(static_cast<size_t>(n * n_embd));
      R1_RETURN_IF_ERROR(stage.ForwardStage(msg.batch, cache, msg.hidden.data(), out.data(), nullptr, pool)
                             .WithContext(who + "forward pass"));
      msg.hidden = std::move(out);
      R1_RETURN_IF_ERROR(t.Send(rank + 1, kTagForward, Encode(msg)));
    }
  }
}

}  // namespace r1
