// c10d stores for JS: TCPStore (rank 0 serves) and FileStore, with set / get / add. A process group
// rendezvouses through one (distributed.cc); a failed collective's liveness probe uses it too.
#include "distributed.h"

#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <memory>
#include <vector>

namespace streetseg {
namespace dist {
namespace {

// createStore({kind:'tcp', host, port, isServer, worldSize, timeoutMs}) | ({kind:'file', path, worldSize, timeoutMs})
Napi::Value CreateStore(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* fn = "distCreateStore";
  Napi::Object o = ObjArg(info, 0, fn);
  std::string kind = StrField(env, o, "kind", fn);
  int64_t worldSize = IntField(env, o, "worldSize", fn, 1, 1 << 20);
  int64_t dfltTimeout = 300000;
  Ms timeout(IntField(env, o, "timeoutMs", fn, 1, int64_t(1) << 40, &dfltTimeout));
  auto box = new StoreBox();
  std::unique_ptr<StoreBox> guard(box);
  box->timeout = timeout;
  if (kind == "tcp") {
    std::string host = StrField(env, o, "host", fn);
    int64_t port = IntField(env, o, "port", fn, 1, 65535);
    Napi::Value s = o.Get("isServer");
    if (!s.IsBoolean()) throw Napi::TypeError::New(env, std::string(fn) + ": expected 'isServer' to be a boolean");
    c10d::TCPStoreOptions opts;
    opts.port = static_cast<uint16_t>(port);
    opts.isServer = s.As<Napi::Boolean>().Value();
    opts.numWorkers = static_cast<size_t>(worldSize);
    // Only the group's rendezvous needs every rank; the server need not block in its constructor.
    opts.waitWorkers = false;
    opts.timeout = timeout;
    try {
      box->store = c10::make_intrusive<c10d::TCPStore>(host, opts);
    } catch (const std::exception& e) {
      throw Napi::Error::New(env, std::string(fn) + ": TCPStore " + (opts.isServer ? "server" : "client") + " at " + host + ":" +
                                      std::to_string(port) + " failed: " + FirstLine(e.what()));
    }
    box->describe = "tcp://" + host + ":" + std::to_string(port);
  } else if (kind == "file") {
    std::string path = StrField(env, o, "path", fn);
    box->store = c10::make_intrusive<c10d::FileStore>(path, static_cast<int>(worldSize));
    box->store->setTimeout(timeout);
    box->describe = "file://" + path;
  } else {
    throw Napi::TypeError::New(env, std::string(fn) + ": unknown store kind '" + kind + "': expected 'tcp' or 'file'");
  }
  return Box(env, guard.release(), kStoreTag);
}

Napi::Value StoreSet(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  StoreBox* s = Unbox<StoreBox>(env, info.Length() ? info[0] : env.Undefined(), kStoreTag, "distStoreSet", "store");
  if (info.Length() < 3 || !info[1].IsString() || !info[2].IsString()) throw Napi::TypeError::New(env, "distStoreSet(store, key, value): expected strings");
  std::string v = info[2].As<Napi::String>().Utf8Value();
  s->store->set(info[1].As<Napi::String>().Utf8Value(), std::vector<uint8_t>(v.begin(), v.end()));
  return env.Undefined();
}

// Blocks until the key exists (store timeout), as c10d's get.
Napi::Value StoreGet(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  StoreBox* s = Unbox<StoreBox>(env, info.Length() ? info[0] : env.Undefined(), kStoreTag, "distStoreGet", "store");
  if (info.Length() < 2 || !info[1].IsString()) throw Napi::TypeError::New(env, "distStoreGet(store, key): expected a string key");
  std::vector<uint8_t> v = s->store->get(info[1].As<Napi::String>().Utf8Value());
  return Napi::String::New(env, std::string(v.begin(), v.end()));
}

Napi::Value StoreAdd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  StoreBox* s = Unbox<StoreBox>(env, info.Length() ? info[0] : env.Undefined(), kStoreTag, "distStoreAdd", "store");
  if (info.Length() < 3 || !info[1].IsString() || !info[2].IsNumber()) throw Napi::TypeError::New(env, "distStoreAdd(store, key, n): expected a string and a number");
  int64_t r = s->store->add(info[1].As<Napi::String>().Utf8Value(), info[2].As<Napi::Number>().Int64Value());
  return Napi::Number::New(env, static_cast<double>(r));
}

}  // namespace

void InitStore(Napi::Env env, Napi::Object exports) {
  Export<CreateStore>(env, exports, "distCreateStore");
  Export<StoreSet>(env, exports, "distStoreSet");
  Export<StoreGet>(env, exports, "distStoreGet");
  Export<StoreAdd>(env, exports, "distStoreAdd");
}

}  // namespace dist
}  // namespace streetseg
