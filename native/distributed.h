// Shared declarations of the c10d binding (distributed.cc: process groups and collectives;
// distributed_store.cc: the stores they rendezvous through): the handle types JS holds, and the
// helpers that read option objects and unbox handles with clear errors.
#pragma once
#include "common.h"

#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/csrc/distributed/c10d/Store.hpp>

#include <chrono>
#include <string>

namespace streetseg {
namespace dist {

using Ms = std::chrono::milliseconds;

// Distinct tags, so a store handle passed where a group is expected (or any other External) is a
// TypeError instead of a wild cast.
inline const napi_type_tag kStoreTag = {0x5f1c0a6e2b9d4e11ULL, 0x8a3e51c7d0f24b66ULL};
inline const napi_type_tag kGroupTag = {0x2d7b93f04ac14c0eULL, 0x9c61e8b52f7a03d4ULL};

struct StoreBox {
  c10::intrusive_ptr<c10d::Store> store;
  std::string describe;  // "tcp://host:port" or "file://path", for messages
  Ms timeout;
};

struct GroupBox {
  c10::intrusive_ptr<c10d::Store> store;  // the raw store (the probe's keys live outside the group's prefix)
  std::string storeDescribe;
  c10::intrusive_ptr<c10d::ProcessGroup> pg;
  std::string backend;
  int rank = 0;
  int size = 1;
  Ms timeout{0};
  std::string broken;  // non-empty once a collective failed: the group cannot be used again
};

// ---- option objects ----------------------------------------------------------------------------------
inline Napi::Object ObjArg(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  if (info.Length() <= i || !info[i].IsObject()) throw Napi::TypeError::New(info.Env(), std::string(fn) + ": expected an options object");
  return info[i].As<Napi::Object>();
}

inline int64_t IntField(Napi::Env env, Napi::Object o, const char* key, const char* fn, int64_t lo, int64_t hi, const int64_t* dflt = nullptr) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() && dflt) return *dflt;
  if (!v.IsNumber()) throw Napi::TypeError::New(env, std::string(fn) + ": expected '" + key + "' to be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= static_cast<double>(lo) && d <= static_cast<double>(hi)) || d != static_cast<double>(static_cast<int64_t>(d))) {
    throw Napi::RangeError::New(env, std::string(fn) + ": expected '" + key + "' to be an integer in [" + std::to_string(lo) + ", " +
                                         std::to_string(hi) + "], got " + v.ToString().Utf8Value());
  }
  return static_cast<int64_t>(d);
}

inline std::string StrField(Napi::Env env, Napi::Object o, const char* key, const char* fn) {
  Napi::Value v = o.Get(key);
  if (!v.IsString() || v.As<Napi::String>().Utf8Value().empty()) {
    throw Napi::TypeError::New(env, std::string(fn) + ": expected '" + key + "' to be a non-empty string");
  }
  return v.As<Napi::String>().Utf8Value();
}

// The first line of a c10d message (the rest is a C++ backtrace).
inline std::string FirstLine(const std::string& s) {
  std::string out = s.substr(0, s.find('\n'));
  return out;
}

// A type-tagged External owning p (deleted when the JS handle is collected).
template <typename T>
Napi::Value Box(Napi::Env env, T* p, const napi_type_tag& tag) {
  auto ext = Napi::External<T>::New(env, p, [](Napi::Env, T* b) { delete b; });
  ext.TypeTag(&tag);
  return ext;
}

template <typename T>
T* Unbox(Napi::Env env, const Napi::Value& v, const napi_type_tag& tag, const char* fn, const char* what) {
  if (!v.IsExternal() || !v.As<Napi::External<T>>().CheckTypeTag(&tag)) {
    throw Napi::TypeError::New(env, std::string(fn) + ": expected a " + what + " handle");
  }
  T* p = v.As<Napi::External<T>>().Data();
  return p;
}

// Registers the store entries (distributed_store.cc).
void InitStore(Napi::Env env, Napi::Object exports);

}  // namespace dist
}  // namespace streetseg
