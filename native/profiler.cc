// An operator profiler on libtorch's RecordFunction hooks: calls, inclusive and self wall time per
// operator and autograd node, as torch.profiler's key_averages() table gives for the PyTorch peer.
// Forward ops are recorded by the dispatcher (our boxed calls included), backward ops by the autograd
// engine (nodes such as ConvolutionBackward0, and the aten ops they call). Self time is the inclusive
// time minus the children's, kept on a per-thread stack: intra-op (OpenMP) workers never start a
// RecordFunction of their own, so a kernel's parallel work counts once, on the thread that called it.
#include "common.h"

#include <ATen/record_function.h>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
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
};

Profile& State() {
  static Profile p;
  return p;
}

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct Frame {
  int64_t start;
  int64_t childNs = 0;
};

// The open records of this thread, innermost last.
thread_local std::vector<Frame> t_stack;

struct Started : at::ObserverContext {
  size_t depth;
};

std::unique_ptr<at::ObserverContext> OnStart(const at::RecordFunction&) {
  auto ctx = std::make_unique<Started>();
  ctx->depth = t_stack.size();
  t_stack.push_back(Frame{NowNs()});
  return ctx;
}

void OnEnd(const at::RecordFunction& fn, at::ObserverContext* raw) {
  auto* ctx = static_cast<Started*>(raw);
  // A record that started before profileStart() has no frame here; a mismatched depth means the
  // stack was reset under it: either way there is nothing to attribute.
  if (!ctx || ctx->depth + 1 != t_stack.size()) return;
  Frame f = t_stack.back();
  t_stack.pop_back();
  int64_t total = NowNs() - f.start;
  if (!t_stack.empty()) t_stack.back().childNs += total;
  Profile& p = State();
  std::lock_guard<std::mutex> lock(p.mutex);
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
  }
  t_stack.clear();
  p.handle = at::addGlobalCallback(at::RecordFunctionCallback(OnStart, OnEnd).scopes({at::RecordScope::FUNCTION, at::RecordScope::BACKWARD_FUNCTION}));
  p.active = true;
  return info.Env().Undefined();
}

// profileStop() -> [{ name, calls, totalMs, selfMs }], by self time, largest first.
Napi::Value ProfileStop(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Profile& p = State();
  if (!p.active) throw Napi::Error::New(env, "profileStop: no profile is running (call profileStart first)");
  at::removeCallback(p.handle);
  p.active = false;
  t_stack.clear();
  std::vector<std::pair<std::string, OpTotals>> rows;
  {
    std::lock_guard<std::mutex> lock(p.mutex);
    rows.assign(p.ops.begin(), p.ops.end());
    p.ops.clear();
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
