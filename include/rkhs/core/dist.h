#pragma once
// Data-parallel training across processes on PyTorch's own engine, c10d (docs/DISTRIBUTED.md): a TCPStore for
// the rendezvous and a Gloo process group for the collectives. One process-wide world, like torch.distributed's
// default group; a process that never calls `init` is a world of one and every collective is a no-op.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace rkhs::core {

// Where this process sits in the world: torchrun's variables (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR,
// MASTER_PORT) and the timeout of the rendezvous and of every collective.
struct DistConfig {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  double timeout_seconds = 300;
  // Sum the gradients while the backward pass runs (OverlappedGradients) where the trainer can; false: after it.
  bool overlap = true;
};

// Reads the variables; WORLD_SIZE unset means a world of one. A variable that is set but not a number in range
// is an rkhs::Error naming it.
DistConfig dist_config_from_env(double timeout_seconds);

// Gradients summed over the ranks while the backward pass runs, as PyTorch's DistributedDataParallel does: a post
// hook on each parameter's gradient accumulator marks it ready; the parameters fall into buckets in reverse order
// (the last layers first; the first bucket up to 1 MB, the others up to ~25 MB), and a bucket's all-reduce (Gloo,
// asynchronous) starts as soon as the backward pass has accumulated every gradient in it and in the buckets
// before it, overlapping the rest of the backward pass. Made by DistWorld::overlapped_gradients.
class OverlappedGradients {
 public:
  ~OverlappedGradients();
  // Runs `backward` (one backward pass reaching every parameter, e.g. loss.backward()) with the reduction armed;
  // when it returns, each parameter's .grad() is the sum over the ranks. A failed collective or a parameter that
  // the backward pass did not reach throws rkhs::Error naming `what` ("the gradients of batch 7").
  void backward(const std::function<void()>& backward, const std::string& what);

 private:
  friend class DistWorld;
  OverlappedGradients();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class DistWorld {
 public:
  // The process-wide world.
  static DistWorld& get();

  // Joins the world of `config` (world_size > 1): rank 0 listens on MASTER_ADDR:MASTER_PORT, the others connect;
  // every rank waits for all WORLD_SIZE ranks. Throws rkhs::Error naming the cause (port in use, a peer that did
  // not arrive within the timeout, ...). A world of one joins nothing.
  void init(const DistConfig& config);
  // Leaves the world (a barrier is not implied): the process group and the store are released.
  void shutdown();

  bool active() const { return size_ > 1; }
  int rank() const { return rank_; }
  int size() const { return size_; }
  bool is_root() const { return rank_ == 0; }

  // In place: each tensor becomes the sum over the ranks. Tensors of one dtype are reduced in flat buckets of
  // ~25 MB (one collective each, all in flight at once); tensors off the CPU go through host copies (Gloo).
  // `what` names the collective in errors ("gradients of epoch 3, batch 7").
  void all_reduce_sum(const std::vector<at::Tensor>& tensors, const std::string& what);
  // Data-parallel mini-batches: the rows of a global batch `rows` (a 1-D tensor of indices) that this rank takes,
  // a contiguous balanced share (shard_range); all of them in a world of one. Each rank then backpropagates its mean
  // loss times its share's fraction of the batch (0 for an empty share), so that the ranks' gradients sum to the
  // gradient of the batch's mean loss (all_reduce_gradients), and the guard checks sum_over_ranks of that loss.
  at::Tensor share_of(const at::Tensor& rows) const;
  // A detached copy of `value` summed over the ranks (the value itself in a world of one).
  at::Tensor sum_over_ranks(const at::Tensor& value, const std::string& what);
  // Data-parallel training: the gradients of `parameters` (those that require one) summed over the ranks, in
  // place; a parameter without a gradient on this rank (its share of the batch was empty) counts as zeros.
  void all_reduce_gradients(const std::vector<at::Tensor>& parameters, const std::string& what);
  // The gradients of `parameters` (those that require one) summed during each backward pass run through the
  // returned object; nullptr in a world of one or with --no-dist-overlap (DistConfig::overlap false).
  std::unique_ptr<OverlappedGradients> overlapped_gradients(const std::vector<at::Tensor>& parameters);
  // One data-parallel update's backward pass: runs `backward` and sums the gradients of `parameters` over the
  // ranks, while it runs through `overlapped` when that is not null, else after it (all_reduce_gradients).
  void backward_and_sum(OverlappedGradients* overlapped, const std::function<void()>& backward,
                        const std::vector<at::Tensor>& parameters, const std::string& what);
  // In place: each tensor becomes rank `root`'s value.
  void broadcast(const std::vector<at::Tensor>& tensors, int root, const std::string& what);
  // The rows of every rank's `local` (n_r, ...), in rank order: (sum n_r, ...) on every rank. Shapes past the
  // first dimension and the dtype must agree.
  at::Tensor all_gather_rows(const at::Tensor& local, const std::string& what);
  // The same rows on rank 0 only; an undefined tensor on the other ranks (`local` itself in a world of one).
  at::Tensor gather_rows_to_root(const at::Tensor& local, const std::string& what);
  // Every rank passes the fingerprint of its configuration; throws rkhs::Error on every rank when one differs
  // from rank 0's, naming the first rank that differs and `what`.
  void check_same(const std::string& what, const std::string& fingerprint);

  // Seconds spent in collectives since init (the communication share of a run).
  double comm_seconds() const { return comm_seconds_; }

  ~DistWorld();

 private:
  DistWorld() = default;
  at::Tensor gather_rows(const at::Tensor& local, bool everyone, const std::string& what);
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int rank_ = 0, size_ = 1;
  double timeout_seconds_ = 300;
  bool overlap_ = true;
  double comm_seconds_ = 0;
};

// The loss of a rank whose share of a global batch is empty (a batch smaller than the world): zero, through a
// graph that reaches every parameter that requires a gradient, so that its backward pass gives zero gradients and
// an overlapped reduction (OverlappedGradients) sees them all.
at::Tensor zero_through(const std::vector<at::Tensor>& parameters, const at::TensorOptions& options);

// Rows [begin, end) of n that rank `rank` of `size` owns: contiguous, balanced shares (the first n % size ranks
// one row more).
std::pair<int64_t, int64_t> shard_range(int64_t n, int rank, int size);

}  // namespace rkhs::core
