{
  "targets": [
    {
      "target_name": "streetseg_torch",
      "sources": [
        "native/addon.cc",
        "native/errors.cc",
        "native/tensor.cc",
        "native/arrays.cc",
        "native/dispatch.cc",
        "native/ivalue.cc",
        "native/allocator.cc",
        "native/blas.cc",
        "native/distributed.cc",
        "native/distributed_store.cc",
        "native/profiler.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node scripts/libtorch-config.cjs include)"
      ],
      "libraries": [ "<!@(node scripts/libtorch-config.cjs libs)" ],
      "defines": [ "NAPI_EXPERIMENTAL", "NODE_API_EXPERIMENTAL_HAS_POST_FINALIZER", "NODE_ADDON_API_CPP_EXCEPTIONS", "USE_C10D_GLOO", "<!@(node scripts/libtorch-config.cjs defines)" ],
      "cflags_cc!": [ "-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++14" ],
      "cflags_cc": [ "-std=c++17", "-fexceptions", "-frtti", "-O2", "-Wno-unused-parameter", "-Wno-deprecated-declarations" ],
      "cflags!": [ "-fno-exceptions" ]
    }
  ]
}
