// The process-wide world of rkhs/core/dist.h on c10d: TCPStore + ProcessGroupGloo (LibTorch ships both; the
// header declares the Gloo group under USE_C10D_GLOO and includes Gloo's headers: CMakeLists.txt defines
// RKHS_HAVE_GLOO and USE_C10D_GLOO for this file when it finds them).
#include "rkhs/core/dist.h"

#include "rkhs/compat.h"

#ifdef RKHS_HAVE_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <map>
#include <mutex>

#include "rkhs/core/loop.h"
#include "rkhs/core/message.h"
#include "rkhs/error.h"

namespace fLI {
extern int FLAGS_minloglevel __attribute__((weak));
}  // namespace fLI

namespace rkhs::core {

namespace {

constexpr int64_t kBucketBytes = 25 << 20;  // DistributedDataParallel's default bucket size

#ifdef RKHS_HAVE_GLOO
// Buckets of indices into `tensors`, taken in `order`: one dtype each, at most `first_cap` bytes for the first
// bucket and `cap` for the others (a larger tensor is a bucket of its own).
std::vector<std::vector<size_t>> dtype_buckets(const std::vector<at::Tensor>& tensors, const std::vector<size_t>& order,
                                               int64_t first_cap, int64_t cap) {
  std::vector<std::vector<size_t>> buckets;
  std::map<at::ScalarType, size_t> open;  // dtype -> index of its bucket being filled
  std::vector<int64_t> bytes;
  for (size_t i : order) {
    const auto& t = tensors[i];
    const int64_t b = t.numel() * static_cast<int64_t>(t.element_size());
    auto it = open.find(t.scalar_type());
    if (it == open.end() || bytes[it->second] + b > (it->second == 0 ? first_cap : cap)) {
      buckets.emplace_back();
      bytes.push_back(0);
      it = open.insert_or_assign(t.scalar_type(), buckets.size() - 1).first;
    }
    buckets[it->second].push_back(i);
    bytes[it->second] += b;
  }
  return buckets;
}

// The members of a bucket as one flat CPU tensor (a fresh copy); an undefined tensor counts as zeros shaped like
// like[i].
at::Tensor flatten(const std::vector<at::Tensor>& tensors, const std::vector<size_t>& members,
                   const std::vector<at::Tensor>& like) {
  std::vector<at::Tensor> parts;
  for (size_t i : members) {
    const auto& t = tensors[i];
    parts.push_back(t.defined() ? t.detach().reshape({-1}).to(torch::kCPU)
                                : torch::zeros({like[i].numel()}, like[i].options().device(torch::kCPU)));
  }
  return parts.size() == 1 ? parts[0].clone() : torch::cat(parts);
}

// Writes the flat bucket back into its members, each set(i, value) with value shaped like like[i].
void unflatten(const at::Tensor& flat, const std::vector<size_t>& members, const std::vector<at::Tensor>& like,
               const std::function<void(size_t, const at::Tensor&)>& set) {
  torch::NoGradGuard no_grad;
  int64_t offset = 0;
  for (size_t i : members) {
    const int64_t n = like[i].numel();
    set(i, flat.slice(0, offset, offset + n).view(like[i].sizes()));
    offset += n;
  }
}
#endif

std::string without_period(std::string s) {
  while (!s.empty() && (s.back() == '.' || s.back() == ' ')) s.pop_back();
  return s;
}

// The message of a c10/Gloo exception without LibTorch's backtrace.
std::string message_of(const std::exception& e) {
  return without_period(one_line_message(e));
}

long env_long(const char* name, long fallback, long lo, long hi) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  char* end = nullptr;
  errno = 0;
  const long x = std::strtol(v, &end, 10);
  RKHS_CHECK(errno == 0 && end != v && *end == '\0' && x >= lo && x <= hi,
             std::string("environment variable ") + name + "='" + v + "' must be an integer in [" +
                 std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return x;
}

// c10d logs each socket failure (and, from 2.x on, a port in use or a client's time-out) as an extra stderr line
// before the exception that rkhs reports in one line; a multi-process run raises the threshold to FATAL: glog's
// where LibTorch uses glog (Debian's 1.13; a weak reference, since other builds have no such flag), and c10's own
// logger's, which LibTorch 2.x's c10d checks without glog (PyTorch's wheels, Debian's 2.6).
void quiet_c10d_logging() {
  if (&fLI::FLAGS_minloglevel != nullptr) fLI::FLAGS_minloglevel = 3;
  FLAGS_caffe2_log_level = 3;
}

std::chrono::milliseconds to_ms(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(std::llround(seconds * 1000)));
}

}  // namespace

DistConfig dist_config_from_env(double timeout_seconds) {
  RKHS_CHECK(std::isfinite(timeout_seconds) && timeout_seconds > 0, "--dist-timeout must be a positive number of seconds");
  DistConfig c;
  c.timeout_seconds = timeout_seconds;
  c.world_size = static_cast<int>(env_long("WORLD_SIZE", 1, 1, 1 << 16));
  if (c.world_size == 1) return c;
  RKHS_CHECK(std::getenv("RANK") != nullptr, "WORLD_SIZE=" + std::to_string(c.world_size) +
                                                 " is set but RANK is not (start the processes with `rkhs launch` "
                                                 "or torchrun, which set both)");
  c.rank = static_cast<int>(env_long("RANK", 0, 0, c.world_size - 1));
  c.local_rank = static_cast<int>(env_long("LOCAL_RANK", c.rank, 0, 1 << 16));
  c.master_port = static_cast<int>(env_long("MASTER_PORT", 29500, 1, 65535));
  if (const char* a = std::getenv("MASTER_ADDR"); a != nullptr && *a != '\0') c.master_addr = a;
  return c;
}

std::pair<int64_t, int64_t> shard_range(int64_t n, int rank, int size) {
  const int64_t base = n / size, extra = n % size;
  const int64_t begin = rank * base + std::min<int64_t>(rank, extra);
  return {begin, begin + base + (rank < extra ? 1 : 0)};
}

#ifdef RKHS_HAVE_GLOO
struct DistWorld::Impl {
  c10::intrusive_ptr<::c10d::Store> store;
  c10::intrusive_ptr<::c10d::ProcessGroupGloo> group;
};
#else
struct DistWorld::Impl {};
#endif

DistWorld& DistWorld::get() {
  static DistWorld world;
  return world;
}

DistWorld::~DistWorld() = default;

void DistWorld::shutdown() {
  impl_.reset();
  rank_ = 0;
  size_ = 1;
}

#ifdef RKHS_HAVE_GLOO

void DistWorld::init(const DistConfig& c) {
  RKHS_CHECK(!active(), "distributed: the world is already joined");
  if (c.world_size <= 1) return;
  const std::string where = "rank " + std::to_string(c.rank) + " of " + std::to_string(c.world_size);
  const std::string master = c.master_addr + ":" + std::to_string(c.master_port);
  quiet_c10d_logging();
  auto impl = std::make_unique<Impl>();
  ::c10d::TCPStoreOptions so;
  so.port = static_cast<std::uint16_t>(c.master_port);
  so.isServer = c.rank == 0;
  so.numWorkers = static_cast<std::size_t>(c.world_size);
  so.waitWorkers = true;
  so.timeout = to_ms(c.timeout_seconds);
  try {
    try {
      impl->store = c10::make_intrusive<::c10d::TCPStore>(c.master_addr, so);
    } catch (const std::exception& e) {  // a LibTorch without libuv: its classic backend (compat.h)
      if (message_of(e).find("libuv") == std::string::npos || !compat::use_classic_tcp_store(so)) throw;
      impl->store = c10::make_intrusive<::c10d::TCPStore>(c.master_addr, so);
    }
  } catch (const std::exception& e) {
    const std::string m = message_of(e);
    if (c.rank == 0 && m.find("in use") != std::string::npos)
      throw Error("distributed: " + where + " cannot listen on MASTER_ADDR:MASTER_PORT " + master +
                  ": the port is in use (choose another MASTER_PORT)");
    throw Error("distributed: " + where + ": the rendezvous at " + master + " failed within " +
                std::to_string(static_cast<int64_t>(c.timeout_seconds)) + " s (--dist-timeout): " + m +
                (c.rank == 0 ? "; did all WORLD_SIZE=" + std::to_string(c.world_size) + " ranks start?"
                             : "; is rank 0 running?"));
  }
  try {
    auto options = ::c10d::ProcessGroupGloo::Options::create(to_ms(c.timeout_seconds));
    const bool loopback = c.master_addr == "127.0.0.1" || c.master_addr == "localhost";
    options->devices.push_back(loopback ? ::c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                        : ::c10d::ProcessGroupGloo::createDefaultDevice());
    options->threads = 2;
    impl->group = c10::make_intrusive<::c10d::ProcessGroupGloo>(impl->store, c.rank, c.world_size, options);
  } catch (const std::exception& e) {
    throw Error("distributed: " + where + ": the Gloo process group could not connect within " +
                std::to_string(static_cast<int64_t>(c.timeout_seconds)) + " s (--dist-timeout): " + message_of(e) +
                "; did all WORLD_SIZE=" + std::to_string(c.world_size) + " ranks start?");
  }
  impl_ = std::move(impl);
  rank_ = c.rank;
  size_ = c.world_size;
  timeout_seconds_ = c.timeout_seconds;
  overlap_ = c.overlap;
  comm_seconds_ = 0;
}

namespace {

[[noreturn]] void collective_failed(const std::string& what, int rank, int size, const std::exception& e) {
  throw Error("distributed: " + what + " failed on rank " + std::to_string(rank) + " of " + std::to_string(size) +
              ": " + message_of(e) + " (a peer process died, stopped or timed out; see its own output)");
}

}  // namespace

namespace {

// A post hook of a parameter's gradient accumulator: runs `ready` after the backward pass has accumulated the
// parameter's gradient (the mechanism of PyTorch's DistributedDataParallel).
class GradientReady : public torch::autograd::FunctionPostHook {
 public:
  explicit GradientReady(std::function<void()> ready) : ready_(std::move(ready)) {}
  torch::autograd::variable_list operator()(const torch::autograd::variable_list& outputs,
                                            const torch::autograd::variable_list&) override {
    ready_();
    return outputs;
  }

 private:
  std::function<void()> ready_;
};

}  // namespace

// The buckets hold the parameters in the reverse of their order (the backward pass produces the last layers'
// gradients first), the first bucket up to 1 MB and the others up to kBucketBytes, one dtype each, as
// DistributedDataParallel does. Buckets are launched in their order on every rank (Gloo matches collectives by
// order), each as soon as it and the ones before it are complete; backward() waits for them and writes the sums.
struct OverlappedGradients::Impl {
  c10::intrusive_ptr<::c10d::ProcessGroupGloo> group;
  int rank = 0, size = 1;
  std::vector<at::Tensor> params;
  std::vector<std::vector<size_t>> buckets;  // parameter indices
  std::vector<size_t> bucket_of;             // parameter -> bucket
  std::vector<std::shared_ptr<torch::autograd::Node>> accumulators;
  std::vector<uintptr_t> hooks;
  // One armed backward pass:
  std::mutex mutex;
  bool armed = false;
  std::vector<size_t> missing;  // per bucket: gradients not yet accumulated
  size_t next = 0;              // the next bucket to launch
  std::vector<at::Tensor> flats;
  std::vector<c10::intrusive_ptr<::c10d::Work>> works;
  std::string launch_error;

  ~Impl() {
    for (size_t i = 0; i < accumulators.size(); ++i) accumulators[i]->del_post_hook(hooks[i]);
  }

  void make_buckets() {
    std::vector<size_t> order(params.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = order.size() - 1 - i;
    buckets = dtype_buckets(params, order, 1 << 20, kBucketBytes);
    bucket_of.resize(params.size());
    for (size_t b = 0; b < buckets.size(); ++b)
      for (size_t k : buckets[b]) bucket_of[k] = b;
  }

  void ready(size_t k) {
    std::lock_guard<std::mutex> lock(mutex);
    if (!armed) return;  // a backward pass that is not reduced here (a curvature step's, an evaluation's)
    const size_t b = bucket_of[k];
    if (missing[b] > 0) --missing[b];
    while (next < buckets.size() && missing[next] == 0) launch(next++);
  }

  void launch(size_t b) {
    std::vector<at::Tensor> grads;
    for (const auto& p : params) grads.push_back(p.grad());
    std::vector<at::Tensor> flat{flatten(grads, buckets[b], params)};
    try {
      works[b] = group->allreduce(flat);
    } catch (const std::exception& e) {
      if (launch_error.empty()) launch_error = message_of(e);
    }
    flats[b] = flat[0];
  }
};

std::unique_ptr<OverlappedGradients> DistWorld::overlapped_gradients(const std::vector<at::Tensor>& parameters) {
  std::vector<at::Tensor> params;
  for (const auto& p : parameters)
    if (p.requires_grad()) params.push_back(p);
  if (!active() || !overlap_ || params.empty()) return nullptr;
  std::unique_ptr<OverlappedGradients> o(new OverlappedGradients());
  auto& m = *o->impl_;
  m.group = impl_->group;
  m.rank = rank_;
  m.size = size_;
  m.params = params;
  m.make_buckets();
  for (size_t k = 0; k < params.size(); ++k) {
    auto acc = torch::autograd::impl::grad_accumulator(params[k]);
    RKHS_CHECK(acc != nullptr, "distributed: a parameter that requires a gradient is not a leaf tensor");
    m.hooks.push_back(acc->add_post_hook(std::make_unique<GradientReady>([impl = &m, k] { impl->ready(k); })));
    m.accumulators.push_back(std::move(acc));  // kept alive: a parameter holds its accumulator weakly
  }
  return o;
}

void OverlappedGradients::backward(const std::function<void()>& backward, const std::string& what) {
  auto& m = *impl_;
  {
    std::lock_guard<std::mutex> lock(m.mutex);
    m.missing.clear();
    for (const auto& b : m.buckets) m.missing.push_back(b.size());
    m.next = 0;
    m.flats.assign(m.buckets.size(), at::Tensor());
    m.works.assign(m.buckets.size(), {});
    m.launch_error.clear();
    m.armed = true;
  }
  try {
    backward();
  } catch (...) {
    m.armed = false;
    throw;
  }
  m.armed = false;
  const std::string where = "rank " + std::to_string(m.rank) + " of " + std::to_string(m.size);
  if (!m.launch_error.empty())
    throw Error("distributed: all-reduce of " + what + " (during the backward pass) failed on " + where + ": " +
                m.launch_error + " (a peer process died, stopped or timed out; see its own output)");
  RKHS_CHECK(m.next == m.buckets.size(), "distributed: the backward pass of " + what + " on " + where +
                                             " did not reach every parameter, so their gradients could not be "
                                             "summed while it ran (run with --no-dist-overlap)");
  try {
    for (auto& w : m.works) w->wait();
  } catch (const std::exception& e) {
    collective_failed("all-reduce of " + what + " (during the backward pass)", m.rank, m.size, e);
  }
  for (size_t b = 0; b < m.buckets.size(); ++b)
    unflatten(m.flats[b], m.buckets[b], m.params, [&](size_t k, const at::Tensor& sum) {
      auto& p = m.params[k];
      if (p.grad().defined()) {
        p.mutable_grad().copy_(sum);
      } else {
        p.mutable_grad() = sum.to(p.device()).clone();
      }
    });
}

void DistWorld::all_reduce_sum(const std::vector<at::Tensor>& tensors, const std::string& what) {
  if (!active() || tensors.empty()) return;
  const Stopwatch clock;
  for (const auto& t : tensors) RKHS_CHECK(t.defined(), "distributed: " + what + ": an undefined tensor");
  std::vector<size_t> order(tensors.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  const auto buckets = dtype_buckets(tensors, order, kBucketBytes, kBucketBytes);
  std::vector<at::Tensor> flats;
  std::vector<c10::intrusive_ptr<::c10d::Work>> works;
  try {
    for (const auto& bucket : buckets) {
      std::vector<at::Tensor> flat{flatten(tensors, bucket, tensors)};
      works.push_back(impl_->group->allreduce(flat));
      flats.push_back(flat[0]);
    }
    for (auto& w : works) w->wait();
  } catch (const std::exception& e) {
    collective_failed("all-reduce of " + what, rank_, size_, e);
  }
  for (size_t k = 0; k < buckets.size(); ++k)
    unflatten(flats[k], buckets[k], tensors,
              [&](size_t i, const at::Tensor& v) { const_cast<at::Tensor&>(tensors[i]).copy_(v); });
  comm_seconds_ += clock.seconds();
}

void DistWorld::broadcast(const std::vector<at::Tensor>& tensors, int root, const std::string& what) {
  if (!active()) return;
  const Stopwatch clock;
  torch::NoGradGuard no_grad;
  try {
    std::map<at::ScalarType, std::vector<size_t>> by_type;  // one collective per dtype: the tensors concatenated
    for (size_t i = 0; i < tensors.size(); ++i) by_type[tensors[i].scalar_type()].push_back(i);
    for (const auto& [type, members] : by_type) {
      std::vector<at::Tensor> parts;
      for (size_t i : members) parts.push_back(tensors[i].detach().reshape({-1}).to(torch::kCPU));
      std::vector<at::Tensor> flat{torch::cat(parts)};
      ::c10d::BroadcastOptions o;
      o.rootRank = root;
      impl_->group->broadcast(flat, o)->wait();
      int64_t offset = 0;
      for (size_t i : members) {
        auto& t = const_cast<at::Tensor&>(tensors[i]);
        t.copy_(flat[0].slice(0, offset, offset + t.numel()).view(t.sizes()));
        offset += t.numel();
      }
    }
  } catch (const std::exception& e) {
    collective_failed("broadcast of " + what, rank_, size_, e);
  }
  comm_seconds_ += clock.seconds();
}

at::Tensor DistWorld::all_gather_rows(const at::Tensor& local, const std::string& what) {
  return gather_rows(local, /*everyone=*/true, what);
}

at::Tensor DistWorld::gather_rows_to_root(const at::Tensor& local, const std::string& what) {
  return gather_rows(local, /*everyone=*/false, what);
}

at::Tensor DistWorld::gather_rows(const at::Tensor& local, bool everyone, const std::string& what) {
  if (!active()) return local;
  RKHS_CHECK(local.dim() >= 1, "distributed: " + what + ": gathering rows needs at least one dimension");
  const Stopwatch clock;
  auto counts = torch::tensor({local.size(0)}, torch::kLong);
  std::vector<at::Tensor> per_rank;
  try {
    std::vector<std::vector<at::Tensor>> out(1);
    for (int r = 0; r < size_; ++r) out[0].push_back(torch::empty({1}, torch::kLong));
    std::vector<at::Tensor> in{counts};
    impl_->group->allgather(out, in)->wait();
    int64_t most = 0;
    for (const auto& c : out[0]) most = std::max(most, c.item<int64_t>());
    auto shape = local.sizes().vec();
    shape[0] = most;  // every rank sends `most` rows (its own, padded): Gloo's gathers take equal shapes
    auto padded = torch::zeros(shape, local.options().device(torch::kCPU));
    padded.slice(0, 0, local.size(0)).copy_(local);
    std::vector<std::vector<at::Tensor>> rows(1);
    if (everyone || is_root())
      for (int r = 0; r < size_; ++r) rows[0].push_back(torch::empty_like(padded));
    std::vector<at::Tensor> mine{padded};
    if (everyone) {
      impl_->group->allgather(rows, mine)->wait();
    } else {
      ::c10d::GatherOptions o;
      o.rootRank = 0;
      if (!is_root()) rows.clear();
      impl_->group->gather(rows, mine, o)->wait();
    }
    if (!everyone && !is_root()) {
      comm_seconds_ += clock.seconds();
      return at::Tensor();
    }
    for (int r = 0; r < size_; ++r) per_rank.push_back(rows[0][r].slice(0, 0, out[0][r].item<int64_t>()));
  } catch (const std::exception& e) {
    collective_failed((everyone ? "all-gather of " : "gather to rank 0 of ") + what, rank_, size_, e);
  }
  comm_seconds_ += clock.seconds();
  return torch::cat(per_rank).to(local.device());
}

void DistWorld::check_same(const std::string& what, const std::string& fingerprint) {
  if (!active()) return;
  const std::string key = "rkhs/check/" + what + "/";
  std::vector<std::string> all;
  try {
    impl_->store->set(key + std::to_string(rank_), std::vector<uint8_t>(fingerprint.begin(), fingerprint.end()));
    for (int r = 0; r < size_; ++r) {
      const auto v = impl_->store->get(key + std::to_string(r));  // waits up to the store's timeout
      all.emplace_back(v.begin(), v.end());
    }
  } catch (const std::exception& e) {
    collective_failed("the check of the " + what, rank_, size_, e);
  }
  for (int r = 1; r < size_; ++r) {
    if (all[r] == all[0]) continue;
    size_t at = 0;  // the first character that differs, shown with some context
    while (at < all[r].size() && at < all[0].size() && all[r][at] == all[0][at]) ++at;
    const size_t from = at > 40 ? at - 40 : 0;
    throw Error("distributed: rank " + std::to_string(r) + "'s " + what + " differs from rank 0's: '..." +
                first_line(all[r].substr(from, 80)) + "' vs '..." + first_line(all[0].substr(from, 80)) +
                "'; every rank must run the same command on the same data");
  }
}

#else  // no Gloo: a world of one only

void DistWorld::init(const DistConfig& c) {
  RKHS_CHECK(c.world_size <= 1, "distributed: WORLD_SIZE=" + std::to_string(c.world_size) +
                                    ", but this build of rkhs has no multi-process training (Gloo's headers, Debian's "
                                    "libgloo-dev, were not found when it was configured)");
}
void DistWorld::all_reduce_sum(const std::vector<at::Tensor>&, const std::string&) {}
void DistWorld::broadcast(const std::vector<at::Tensor>&, int, const std::string&) {}
at::Tensor DistWorld::all_gather_rows(const at::Tensor& local, const std::string&) { return local; }
at::Tensor DistWorld::gather_rows_to_root(const at::Tensor& local, const std::string&) { return local; }
void DistWorld::check_same(const std::string&, const std::string&) {}

#endif

#ifndef RKHS_HAVE_GLOO
// No Gloo: a world of one, where nothing is summed.
struct OverlappedGradients::Impl {};
std::unique_ptr<OverlappedGradients> DistWorld::overlapped_gradients(const std::vector<at::Tensor>&) {
  return nullptr;
}
void OverlappedGradients::backward(const std::function<void()>& backward, const std::string&) { backward(); }
#endif

OverlappedGradients::OverlappedGradients() : impl_(std::make_unique<Impl>()) {}
OverlappedGradients::~OverlappedGradients() = default;

at::Tensor DistWorld::share_of(const at::Tensor& rows) const {
  if (!active()) return rows;
  const auto [begin, end] = shard_range(rows.size(0), rank_, size_);
  return rows.slice(0, begin, end);
}

at::Tensor DistWorld::sum_over_ranks(const at::Tensor& value, const std::string& what) {
  auto total = value.detach().clone();
  all_reduce_sum({total}, what);
  return total;
}

void DistWorld::backward_and_sum(OverlappedGradients* overlapped, const std::function<void()>& backward,
                                 const std::vector<at::Tensor>& parameters, const std::string& what) {
  if (overlapped != nullptr) {
    overlapped->backward(backward, what);
  } else {
    backward();
    all_reduce_gradients(parameters, what);
  }
}

at::Tensor zero_through(const std::vector<at::Tensor>& parameters, const at::TensorOptions& options) {
  auto zero = torch::zeros({}, options);
  for (const auto& p : parameters)
    if (p.requires_grad()) zero = zero + 0 * p.sum();
  return zero;
}

void DistWorld::all_reduce_gradients(const std::vector<at::Tensor>& parameters, const std::string& what) {
  if (!active()) return;
  std::vector<at::Tensor> grads;
  for (auto p : parameters) {
    if (!p.requires_grad()) continue;
    if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
    grads.push_back(p.grad());
  }
  all_reduce_sum(grads, what);
}

}  // namespace rkhs::core
