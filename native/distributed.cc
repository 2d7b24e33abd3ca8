// torch.distributed's c10d for JS: a store (TCPStore, FileStore) and a process group (Gloo; NCCL when the
// addon is built against a CUDA libtorch with -DUSE_C10D_NCCL), with allreduce / broadcast / barrier.
//
// Collectives block the JS thread in Work::wait(timeout): a data-parallel step cannot continue before
// its gradients are reduced anyway, and the store server (rank 0) and Gloo's I/O run on their own
// threads, so nothing here needs the event loop. Every wait is bounded: Gloo's own timeout (the group
// option) ends a collective whose peer stalls, and a peer that dies closes its sockets, which ends it
// at once. A failed collective marks the group broken and is turned into a JS error naming the lost
// rank(s), found with a liveness probe through the store (see Probe). The stores themselves are in
// distributed_store.cc.
#include "distributed.h"

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#ifdef USE_C10D_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <chrono>
#include <cstdlib>
#include <thread>
#include <vector>

namespace streetseg {
namespace dist {
namespace {

GroupBox* LiveGroup(const Napi::CallbackInfo& info, const char* fn) {
  if (info.Length() < 1) throw Napi::TypeError::New(info.Env(), std::string(fn) + ": expected a process group handle");
  GroupBox* g = Unbox<GroupBox>(info.Env(), info[0], kGroupTag, fn, "process group");
  if (!g->pg) throw Napi::Error::New(info.Env(), std::string(fn) + ": the process group was destroyed");
  if (!g->broken.empty()) throw Napi::Error::New(info.Env(), std::string(fn) + ": the process group is broken by an earlier failure (" + g->broken + ")");
  return g;
}

std::vector<at::Tensor> TensorList(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  Napi::Env env = info.Env();
  if (info.Length() <= i || !info[i].IsArray()) throw Napi::TypeError::New(env, std::string(fn) + ": expected an array of tensors");
  Napi::Array a = info[i].As<Napi::Array>();
  if (a.Length() == 0) throw Napi::RangeError::New(env, std::string(fn) + ": expected at least one tensor");
  std::vector<at::Tensor> out;
  for (uint32_t k = 0; k < a.Length(); ++k) {
    std::string what = std::string(fn) + ": tensors[" + std::to_string(k) + "]";
    at::Tensor t = TensorWrap::Get(env, a.Get(k), what.c_str());
    // Collectives write into the tensor's memory in place, from another thread: a view with gaps or
    // a non-CPU tensor (for Gloo) would be read/written wrongly.
    if (!t.is_contiguous()) throw Napi::TypeError::New(env, what + " is not contiguous (collectives write into the storage in place)");
    if (t.is_sparse()) throw Napi::TypeError::New(env, what + " is sparse; expected a dense tensor");
    out.push_back(t);
  }
  return out;
}

// ---- failure reporting -------------------------------------------------------------------------------
// Which ranks are gone? c10d's Gloo errors name a socket address, not a rank, so every survivor of a
// failed collective writes "streetseg/alive/<rank>" to the store and waits (at most half the group's
// timeout, at most 10 s) for the others' keys: the ranks whose key never comes are reported lost. When
// the store itself is unreachable, the rank that hosts it (rank 0, by torchrun convention) is the lost
// one. A rank that is alive but stalled outside any collective for the whole window is reported as
// lost too; that is the message's "(dead or unresponsive)".
std::string Probe(GroupBox* g) {
  Ms window = std::min(Ms(10000), std::max(Ms(200), g->timeout / 2));
  try {
    g->store->setTimeout(window);
    std::vector<uint8_t> one{'1'};
    g->store->set("streetseg/alive/" + std::to_string(g->rank), one);
    auto deadline = std::chrono::steady_clock::now() + window;
    std::vector<int> missing;
    for (;;) {
      missing.clear();
      for (int r = 0; r < g->size; ++r) {
        if (r != g->rank && !g->store->check({"streetseg/alive/" + std::to_string(r)})) missing.push_back(r);
      }
      if (missing.empty() || std::chrono::steady_clock::now() >= deadline) break;
      std::this_thread::sleep_for(Ms(50));
    }
    if (missing.empty()) return "every rank is alive (a peer stalled, or the ranks called different collectives)";
    std::string s = missing.size() == 1 ? "rank " : "ranks ";
    for (size_t k = 0; k < missing.size(); ++k) s += (k ? ", " : "") + std::to_string(missing[k]);
    return s + " lost (dead or unresponsive for " + std::to_string(window.count()) + " ms)";
  } catch (const std::exception& e) {
    std::string why = e.what();
    if (auto nl = why.find('\n'); nl != std::string::npos) why.resize(nl);
    return "rank 0 lost (the store at " + g->storeDescribe + " is unreachable: " + why + ")";
  }
}

// Waits for every work item with the group's timeout; on failure marks the group broken and throws
// "<fn>: rank R lost …: <c10d message>".
void WaitAll(Napi::Env env, GroupBox* g, std::vector<c10::intrusive_ptr<c10d::Work>>& works, const char* fn) {
  std::string error;
  for (auto& w : works) {
    try {
      w->wait(g->timeout);
    } catch (const c10::Error& e) {
      if (error.empty()) error = FirstLine(e.what_without_backtrace());
    } catch (const std::exception& e) {
      if (error.empty()) error = FirstLine(e.what());
    }
  }
  if (error.empty()) return;
  std::string who = g->size > 1 ? Probe(g) : "single-process group";
  g->broken = who + ": " + error;
  Napi::Error err = Napi::Error::New(env, std::string(fn) + ": " + g->broken);
  err.Set("code", Napi::String::New(env, "ERR_DIST_PEER"));
  throw err;
}

// ---- process group -------------------------------------------------------------------------------------
// newGroup(store, {backend:'gloo'|'nccl', rank, size, timeoutMs, hostname?|interface?, prefix?})
Napi::Value NewGroup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "distNewGroup";
  StoreBox* s = Unbox<StoreBox>(env, info.Length() ? info[0] : env.Undefined(), kStoreTag, fn, "store");
  Napi::Object o = ObjArg(info, 1, fn);
  std::string backend = StrField(env, o, "backend", fn);
  int64_t size = IntField(env, o, "size", fn, 1, 1 << 20);
  int64_t rank = IntField(env, o, "rank", fn, 0, size - 1);
  int64_t dfltTimeout = 300000;
  Ms timeout(IntField(env, o, "timeoutMs", fn, 1, int64_t(1) << 40, &dfltTimeout));
  std::string prefix = o.Get("prefix").IsString() ? o.Get("prefix").As<Napi::String>().Utf8Value() : std::string("default_pg");

  auto box = std::make_unique<GroupBox>();
  box->store = s->store;
  box->storeDescribe = s->describe;
  box->backend = backend;
  box->rank = static_cast<int>(rank);
  box->size = static_cast<int>(size);
  box->timeout = timeout;
  // The group's keys live under a prefix (as torch.distributed's default group): the probe's keys and
  // a later group on the same store do not collide with them.
  auto prefixed = c10::make_intrusive<c10d::PrefixStore>(prefix, s->store);
  if (backend == "gloo") {
#ifdef USE_C10D_GLOO
    auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
    // An explicit address or interface: createDefaultDevice() resolves this machine's hostname, which
    // fails or picks an unroutable address on many hosts.
    if (o.Get("interface").IsString()) {
      opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(o.Get("interface").As<Napi::String>().Utf8Value()));
    } else {
      opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(StrField(env, o, "hostname", fn)));
    }
    opts->threads = 2;
    try {
      box->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(prefixed, box->rank, box->size, opts);
    } catch (const std::exception& e) {
      throw Napi::Error::New(env, std::string(fn) + ": Gloo rendezvous of rank " + std::to_string(rank) + "/" + std::to_string(size) + " through " +
                                      s->describe + " failed within " + std::to_string(timeout.count()) + " ms: " + FirstLine(e.what()));
    }
#else
    throw Napi::Error::New(env, std::string(fn) + ": this addon was built without Gloo (add -DUSE_C10D_GLOO and libgloo-dev)");
#endif
  } else if (backend == "nccl") {
#ifdef USE_C10D_NCCL
    // NCCL honours the timeout only with blocking waits (1.13 reads NCCL_BLOCKING_WAIT in the
    // constructor); without it a lost peer would hang the GPU stream. A user's own setting wins.
    setenv("NCCL_BLOCKING_WAIT", "1", 0);
    auto opts = c10d::ProcessGroupNCCL::Options::create();
    opts->timeout = timeout;
    box->pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(prefixed, box->rank, box->size, opts);
#else
    throw Napi::Error::New(env, std::string(fn) + ": this addon was built without NCCL (needs a CUDA libtorch and -DUSE_C10D_NCCL); use backend 'gloo'");
#endif
  } else {
    throw Napi::TypeError::New(env, std::string(fn) + ": unknown backend '" + backend + "': expected 'gloo' or 'nccl'");
  }
  return Box(env, box.release(), kGroupTag);
}

// allreduce(group, tensors, op): each tensor is reduced across ranks in place (one collective per
// tensor, all issued before the first wait). 'avg' is a sum divided by the world size: Gloo has no AVG.
Napi::Value Allreduce(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "distAllreduce";
  GroupBox* g = LiveGroup(info, fn);
  std::vector<at::Tensor> tensors = TensorList(info, 1, fn);
  std::string op = info.Length() > 2 && info[2].IsString() ? info[2].As<Napi::String>().Utf8Value() : "sum";
  c10d::AllreduceOptions opts;
  opts.timeout = g->timeout;
  bool avg = false;
  if (op == "sum") opts.reduceOp = c10d::ReduceOp::SUM;
  else if (op == "avg") opts.reduceOp = c10d::ReduceOp::SUM, avg = true;
  else if (op == "max") opts.reduceOp = c10d::ReduceOp::MAX;
  else if (op == "min") opts.reduceOp = c10d::ReduceOp::MIN;
  else throw Napi::TypeError::New(env, std::string(fn) + ": unknown op '" + op + "': expected 'sum', 'avg', 'max' or 'min'");
  if (avg) {
    for (auto& t : tensors) {
      if (!at::isFloatingType(t.scalar_type())) throw Napi::TypeError::New(env, std::string(fn) + ": 'avg' needs floating-point tensors, got " + DTypeName(t.scalar_type()));
    }
  }
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  for (auto& t : tensors) {
    std::vector<at::Tensor> one{t};
    works.push_back(g->pg->allreduce(one, opts));
  }
  WaitAll(env, g, works, fn);
  if (avg) {
    at::NoGradGuard ng;
    for (auto& t : tensors) t.div_(g->size);
  }
  return env.Undefined();
}

// broadcast(group, tensors, root): every tensor takes root's values, in place.
Napi::Value Broadcast(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "distBroadcast";
  GroupBox* g = LiveGroup(info, fn);
  std::vector<at::Tensor> tensors = TensorList(info, 1, fn);
  if (info.Length() < 3 || !info[2].IsNumber()) throw Napi::TypeError::New(env, std::string(fn) + ": expected a root rank");
  int64_t root = info[2].As<Napi::Number>().Int64Value();
  if (root < 0 || root >= g->size) throw Napi::RangeError::New(env, std::string(fn) + ": root " + std::to_string(root) + " is outside [0, " + std::to_string(g->size) + ")");
  c10d::BroadcastOptions opts;
  opts.rootRank = root;
  opts.timeout = g->timeout;
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  for (auto& t : tensors) {
    std::vector<at::Tensor> one{t};
    works.push_back(g->pg->broadcast(one, opts));
  }
  WaitAll(env, g, works, fn);
  return env.Undefined();
}

Napi::Value Barrier(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GroupBox* g = LiveGroup(info, "distBarrier");
  c10d::BarrierOptions opts;
  opts.timeout = g->timeout;
  std::vector<c10::intrusive_ptr<c10d::Work>> works{g->pg->barrier(opts)};
  WaitAll(env, g, works, "distBarrier");
  return env.Undefined();
}

// Frees the group (its threads and sockets) now rather than at GC; a second destroy is a no-op.
Napi::Value Destroy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GroupBox* g = Unbox<GroupBox>(env, info.Length() ? info[0] : env.Undefined(), kGroupTag, "distDestroy", "process group");
  g->pg.reset();
  return env.Undefined();
}

Napi::Value GroupInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GroupBox* g = Unbox<GroupBox>(env, info.Length() ? info[0] : env.Undefined(), kGroupTag, "distGroupInfo", "process group");
  Napi::Object o = Napi::Object::New(env);
  o.Set("backend", g->backend);
  o.Set("rank", g->rank);
  o.Set("size", g->size);
  o.Set("timeoutMs", static_cast<double>(g->timeout.count()));
  o.Set("destroyed", !g->pg);
  o.Set("broken", g->broken.empty() ? env.Null() : Napi::String::New(env, g->broken));
  return o;
}

Napi::Value Backends(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array a = Napi::Array::New(env);
  uint32_t n = 0;
#ifdef USE_C10D_GLOO
  a.Set(n++, "gloo");
#endif
#ifdef USE_C10D_NCCL
  a.Set(n++, "nccl");
#endif
  (void)n;
  return a;
}

}  // namespace
}  // namespace dist

void InitDistributed(Napi::Env env, Napi::Object exports) {
  using namespace dist;
  InitStore(env, exports);
  Export<NewGroup>(env, exports, "distNewGroup");
  Export<Allreduce>(env, exports, "distAllreduce");
  Export<Broadcast>(env, exports, "distBroadcast");
  Export<Barrier>(env, exports, "distBarrier");
  Export<Destroy>(env, exports, "distDestroy");
  Export<GroupInfo>(env, exports, "distGroupInfo");
  Export<Backends>(env, exports, "distBackends");
}

}  // namespace streetseg
