// libFuzzer target: the restricted unpickler alone (tensor/pickle.h), without the zip layer
// in front, so the fuzzer's mutations reach every opcode. Persistent ids get a zeroed storage
// of their numel (capped at 1 MiB in all, as a file's record sizes would cap them); the tree is
// then flattened. Input: byte 0 picks skip_unknown_globals (odd), the rest is the pickle. A
// marrow::Error is a normal outcome; anything else is a finding. Seeds: tests/fuzz/corpus/pickle/
// (data.pkl of small torch.save files).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "tensor/pth.h"

using namespace marrow;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    try {
        size_t budget = 1 << 20;
        auto load = [&budget](pickle::Document& doc, const pickle::Value& pid) -> pickle::Value* {
            MARROW_CHECK(pid.kind == pickle::Kind::tuple && pid.items.size() >= 5 &&
                             pid.items[1]->kind == pickle::Kind::global &&
                             pid.items[4]->kind == pickle::Kind::integer,
                         "fuzz: not a storage id");
            auto type = pickle::storage_type(pid.items[1]->text);
            MARROW_CHECK(type.has_value(), "fuzz: not a storage type");
            int64_t numel = pid.items[4]->integer;
            MARROW_CHECK(numel >= 0 && numel <= (1 << 20) / 8, "fuzz: storage too large");
            size_t nbytes = size_t(numel) * dtype_size(type->dtype);
            MARROW_CHECK(nbytes <= budget, "fuzz: storages past the budget");
            budget -= nbytes;
            pickle::Value* s = doc.make(pickle::Kind::storage);
            s->dtype = type->dtype;
            s->storage = Storage::allocate(nbytes, Device::cpu());
            std::memset(s->storage->data(), 0, nbytes);
            return s;
        };
        auto doc = std::make_shared<pickle::Document>();
        pickle::unpickle(std::string_view(reinterpret_cast<const char*>(data + 1), size - 1),
                         "fuzz.pkl", {.skip_unknown_globals = (data[0] & 1) != 0}, load, *doc);
        PthFile f{"fuzz.pkl", false, doc};
        size_t sum = 0;
        for (const auto& [key, t] : flatten_tensors(f)) sum += key.size() + size_t(t.numel());
        volatile size_t sink = sum;
        (void)sink;
    } catch (const Error&) {
    }
    return 0;
}
