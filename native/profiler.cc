// An operator profiler on libtorch's RecordFunction hooks: calls, inclusive and self wall time per
// operator and autograd node, as torch.profiler's key_averages() table gives for the PyTorch peer.
// Forward ops are recorded by the dispatcher (our boxed calls included), backward ops by the autograd
// engine (nodes such as ConvolutionBackward0, and the aten ops they call; CPU backward runs on the
// calling thread). Only the thread that started the profile is recorded: a kernel's parallel work then
// counts once, inside the op that started it, even where a kernel dispatches ops of its own from its
// intra-op (OpenMP) workers. Self time is the inclusive time minus the children's.
#include "common.h"

#include <ATen/record_function.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace streetseg {
namespace {

struct OpTotals {
  int64_t calls = 0;
  int64_t totalNs = 0;
  int64_t selfNs = 0;
};

struct Profile {
  std::mutex mutex;
  std::map<std::string, OpTotals> ops;
  bool active = false;
  at::CallbackHandle handle = 0;
  std::thread::id owner;
  // Bumped by every profileStart: a record still open when its profile stopped never reaches the next.
  uint64_t generation = 0;
};

Profile& State() {
  static Profile* p = new Profile();  // never destroyed: the callback may outlive static destruction
  return *p;
}

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct Frame {
  int64_t start;
  int64_t childNs = 0;
};

// The open records of the profiled thread, innermost last. RecordFunction pairs every start with its
// end (LIFO on one thread), so the innermost frame is always the one that ends.
thread_local std::vector<Frame> t_stack;

struct Started : at::ObserverContext {
  uint64_t generation;
};

std::unique_ptr<at::ObserverContext> OnStart(const at::RecordFunction&) {
  Profile& p = State();
  if (std::this_thread::get_id() != p.owner) return nullptr;
  auto ctx = std::make_unique<Started>();
  ctx->generation = p.generation;
  t_stack.push_back(Frame{NowNs()});
  return ctx;
}

void OnEnd(const at::RecordFunction& fn, at::ObserverContext* raw) {
  auto* ctx = static_cast<Started*>(raw);
  if (!ctx) return;  // another thread's record
  Frame f = t_stack.back();
  t_stack.pop_back();
  int64_t total = NowNs() - f.start;
  if (!t_stack.empty()) t_stack.back().childNs += total;
  Profile& p = State();
  std::lock_guard<std::mutex> lock(p.mutex);
  if (ctx->generation != p.generation || !p.active) return;
  OpTotals& o = p.ops[fn.name()];
  o.calls++;
  o.totalNs += total;
  o.selfNs += total - f.childNs;
}

// profileStart(): starts recording (clearing earlier totals). An error if a profile is running.
Napi::Value ProfileStart(const Napi::CallbackInfo& info) {
  Profile& p = State();
  if (p.active) throw Napi::Error::New(info.Env(), "profileStart: a profile is already running (call profileStop first)");
  {
    std::lock_guard<std::mutex> lock(p.mutex);
    p.ops.clear();
    p.generation++;
    p.active = true;
  }
  p.owner = std::this_thread::get_id();  // before the callback exists, so no OnStart reads it meanwhile
  p.handle = at::addGlobalCallback(at::RecordFunctionCallback(OnStart, OnEnd).scopes({at::RecordScope::FUNCTION, at::RecordScope::BACKWARD_FUNCTION}));
  return info.Env().Undefined();
}

// profileStop() -> [{ name, calls, totalMs, selfMs }], by self time, largest first.
Napi::Value ProfileStop(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Profile& p = State();
  if (!p.active) throw Napi::Error::New(env, "profileStop: no profile is running (call profileStart first)");
  at::removeCallback(p.handle);
  std::vector<std::pair<std::string, OpTotals>> rows;
  {
    std::lock_guard<std::mutex> lock(p.mutex);
    rows.assign(p.ops.begin(), p.ops.end());
    p.ops.clear();
    p.active = false;
  }
  std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.second.selfNs > b.second.selfNs; });
  Napi::Array out = Napi::Array::New(env, rows.size());
  for (size_t i = 0; i < rows.size(); i++) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", Napi::String::New(env, rows[i].first));
    o.Set("calls", Napi::Number::New(env, static_cast<double>(rows[i].second.calls)));
    o.Set("totalMs", Napi::Number::New(env, rows[i].second.totalNs / 1e6));
    o.Set("selfMs", Napi::Number::New(env, rows[i].second.selfNs / 1e6));
    out.Set(static_cast<uint32_t>(i), o);
  }
  return out;
}

}  // namespace

void InitProfiler(Napi::Env env, Napi::Object exports) {
  Export<ProfileStart>(env, exports, "profileStart");
  Export<ProfileStop>(env, exports, "profileStop");
}

}  // namespace streetseg
