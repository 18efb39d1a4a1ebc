// The .pth reader (tensor/pth.h, tensor/pickle.h) on files torch.save wrote
// (tests/golden/gen/gen_pth.py): every dtype, views and shared storages, nested checkpoints,
// module state dicts, protocol 4, the legacy format; what torch.load returned is the
// expected value (pth.safetensors). Then the refusals (os.system, argparse.Namespace) and a
// clear error for each way a file can be broken.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "marrow.h"
#include "tensor/ops/copy.h"
#include "tests/compare.h"

using namespace marrow;

namespace {

std::string fixture(const std::string& name) {
    return std::string(MARROW_SOURCE_DIR) + "/tests/golden/fixtures/pth/" + name;
}

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

const SafetensorsFile& expected() { return test::golden_fixture("pth/pth"); }

std::vector<std::string> expected_keys(const std::string& file) {
    return nlohmann::json::parse(expected().metadata.at("keys." + file))
        .get<std::vector<std::string>>();
}

// Every tensor of `file` equals what torch.load read, bit for bit, and the keys come in
// torch's order.
void check_against_torch(const std::string& file, const PthOptions& options = {}) {
    CAPTURE(file);
    PthFile f = read_pth(fixture(file + ".pth"), options);
    auto tensors = flatten_tensors(f);
    std::vector<std::string> keys;
    for (const auto& kv : tensors) keys.push_back(kv.first);
    CHECK(keys == expected_keys(file));
    for (const auto& kv : tensors) {  // not a structured binding: clang 14 cannot CAPTURE one
        const std::string& key = kv.first;
        const Tensor& t = kv.second;
        CAPTURE(key);
        const Tensor& ref = expected().tensors.at(file + "/" + key);
        REQUIRE(t.dtype() == ref.dtype());
        REQUIRE(t.shape() == ref.shape());
        Tensor a = op::contiguous(t);
        CHECK(std::memcmp(a.raw_data(), ref.raw_data(), size_t(ref.numel()) * ref.element_size()) ==
              0);
    }
}

std::string error_of(const std::function<void()>& fn) {
    try {
        fn();
    } catch (const Error& e) {
        return e.what();
    }
    return "(no error)";
}

std::string unpickle_error(const std::string& bytes) {
    return error_of([&] {
        pickle::Document doc;
        pickle::unpickle(bytes, "t.pkl", {}, nullptr, doc);
    });
}

}  // namespace

TEST_CASE("files torch.save wrote load as torch.load reads them") {
    for (const char* file : {"dtypes", "views", "nested", "module", "params", "proto4", "legacy"})
        check_against_torch(file);
    CHECK(read_pth(fixture("legacy.pth")).legacy);
    CHECK_FALSE(read_pth(fixture("nested.pth")).legacy);
}

TEST_CASE("dtypes: each storage type maps to its dtype; int8/int16 widen to int32") {
    auto t = load_pth(fixture("dtypes.pth"));
    CHECK(t.at("f32").dtype() == DType::f32);
    CHECK(t.at("f64").dtype() == DType::f64);
    CHECK(t.at("f16").dtype() == DType::f16);
    CHECK(t.at("bf16").dtype() == DType::bf16);
    CHECK(t.at("i64").dtype() == DType::i64);
    CHECK(t.at("i16").dtype() == DType::i32);
    CHECK(t.at("i16").data<int32_t>()[0] == -300);
    CHECK(t.at("i8").data<int32_t>()[0] == -128);
    CHECK(t.at("u8").data<uint8_t>()[2] == 255);
    CHECK(t.at("bool").dtype() == DType::b8);
    CHECK(t.at("scalar").dim() == 0);
    CHECK(t.at("empty").shape() == Shape{0, 3});
}

TEST_CASE("views stay views of one storage, as torch.load makes them") {
    auto t = load_pth(fixture("views.pth"));
    const Tensor& base = t.at("base");
    CHECK(t.at("t").storage() == base.storage());
    CHECK(t.at("t").strides() == Shape{1, 6});
    CHECK(t.at("row").offset() == 6);
    CHECK(t.at("window").offset() == 7);
    CHECK(t.at("window").strides() == Shape{6, 1});
    CHECK(t.at("shared_a").storage() == t.at("shared_b").storage());
    CHECK(t.at("shared_b").offset() == 3);
    CHECK(t.at("alias1").storage() == t.at("alias2").storage());
    // Each storage is read once: three records, three storages.
    std::set<Storage*> storages;
    for (const auto& kv : t) storages.insert(kv.second.storage().get());
    CHECK(storages.size() == 3);
}

TEST_CASE("nested checkpoints flatten to dotted keys; nn helpers pick a part") {
    nn::StateDict sd = nn::load_state_dict_file(fixture("nested.pth"));
    CHECK(sd.contains("teacher.backbone.blocks.0.attn.qkv.weight"));
    CHECK(sd.contains("optimizer.state.0.momentum_buffer"));
    CHECK(sd.contains("history.2.0"));
    nn::StateDict teacher = nn::strip_prefix(nn::select_prefix(sd, "teacher."), "backbone.");
    CHECK(teacher.keys() == std::vector<std::string>{"blocks.0.attn.qkv.weight", "norm.bias",
                                                     "head.last_layer.weight"});
    // The scalars are in the tree, not in the tensors.
    PthFile f = read_pth(fixture("nested.pth"));
    bool found_epoch = false;
    for (auto [k, v] : f.root().entries)
        if (k->text == "epoch") found_epoch = v->kind == pickle::Kind::integer && v->integer == 3;
    CHECK(found_epoch);
}

TEST_CASE("a module's state_dict loads into the same marrow module, strictly") {
    auto model = std::make_shared<nn::Sequential>(std::vector<std::shared_ptr<nn::Layer>>{
        std::make_shared<nn::Conv2d>(3, 4, nn::Conv2dOptions{.kernel_size = 3}),
        std::make_shared<nn::BatchNorm2d>(4), std::make_shared<nn::Flatten>(),
        std::make_shared<nn::Linear>(4, 2)});
    model->load_state_dict(nn::load_state_dict_file(fixture("module.pth")), /*strict=*/true);
    const Tensor& ref = expected().tensors.at("module/1.running_mean");
    nn::StateDict sd = model->state_dict();
    CHECK(test::compare(sd.at("1.running_mean"), ref,
                        test::tolerance(test::TolClass::exact, DType::f32))
              .ok);
    CHECK(sd.at("1.num_batches_tracked").item() == 5);
}

TEST_CASE("a pickle that calls os.system is refused, naming the global") {
    std::string e = error_of([] { read_pth(fixture("evil.pth")); });
    CHECK(e.find("refusing to load global posix.system") != std::string::npos);
    CHECK(e.find("evil.pth") != std::string::npos);
    CHECK(e.find("data.pkl") != std::string::npos);
    // Skipping records the name and runs nothing; the weights still load.
    PthFile f = read_pth(fixture("evil.pth"), {.skip_unknown_globals = true});
    CHECK(f.skipped_globals() == std::vector<std::string>{"posix.system"});
    auto tensors = flatten_tensors(f);
    REQUIRE(tensors.size() == 1);
    CHECK(tensors[0].first == "weights");
}

TEST_CASE("DINO's args (argparse.Namespace): refused by default, skipped on request") {
    std::string e = error_of([] { read_pth(fixture("dino_args.pth")); });
    CHECK(e.find("refusing to load global argparse.Namespace") != std::string::npos);
    PthFile f = read_pth(fixture("dino_args.pth"), {.skip_unknown_globals = true});
    CHECK(f.skipped_globals() == std::vector<std::string>{"argparse.Namespace"});
    auto tensors = flatten_tensors(f);
    std::vector<std::string> keys;
    for (const auto& kv : tensors) keys.push_back(kv.first);
    CHECK(keys == expected_keys("dino_args"));
}

TEST_CASE("broken files: an error naming the file and the problem") {
    auto has = [](const std::string& e, const std::string& what) {
        CAPTURE(e);
        CHECK(e.find(what) != std::string::npos);
    };
    has(error_of([] { read_pth("/nonexistent/x.pth"); }), "cannot open \"/nonexistent/x.pth\"");
    has(error_of([] { parse_pth("hello, world", "h.pth"); }), "h.pth: not a torch.save file");
    std::string views = slurp(fixture("views.pth"));
    has(error_of([&] { parse_pth(views.substr(0, views.size() / 2), "half.pth"); }),
        "half.pth: not a readable zip archive");
    has(error_of([] { read_pth(fixture("bad_no_pkl.pth")); }), "no <archive>/data.pkl");
    has(error_of([] { read_pth(fixture("bad_missing_record.pth")); }),
        "missing storage record views/data/1");
    has(error_of([] { read_pth(fixture("bad_small_record.pth")); }),
        "storage record views/data/0 has 8 bytes but torch.FloatStorage of 24 elements needs 96");
    std::string legacy = slurp(fixture("legacy.pth"));
    has(error_of([&] { parse_pth(legacy.substr(0, legacy.size() - 10), "cut.pth"); }),
        "cut.pth: truncated");
    // Every prefix of a file is an Error, never a crash.
    for (const std::string& bytes : {views, legacy})
        for (size_t n = 0; n < bytes.size(); n += 7)
            CHECK_THROWS_AS(parse_pth(bytes.substr(0, n), "prefix.pth"), Error);
}

TEST_CASE("unpickler: bad bytes are errors naming the problem and the byte") {
    auto has = [](const std::string& e, const std::string& what) {
        CAPTURE(e);
        CHECK(e.find(what) != std::string::npos);
    };
    has(unpickle_error("\x80\x02"
                       "a."),
        "t.pkl: stack underflow (pickle byte 2)");
    has(unpickle_error("\x80\x02h\x05."), "memo index 5 was never stored");
    has(unpickle_error("\x80\x02I42\n."), "unsupported pickle opcode 0x49 ('I')");
    has(unpickle_error("\x80\x02X\xff\xff\xff\x7f"), "truncated: an argument of 2147483647");
    has(unpickle_error("\x80\x02N"), "truncated: no STOP opcode");
    has(unpickle_error("\x80\x02"
                       "e."),
        "no MARK on the stack");
    has(unpickle_error("\x80\x09N."), "pickle protocol 9");
    // STACK_GLOBAL (protocol 4) goes through the same allow list.
    has(unpickle_error("\x80\x04\x8c\x05posix\x8c\x06system\x93."),
        "refusing to load global posix.system in t.pkl");
    has(unpickle_error("\x80\x02"
                       "cbuiltins\neval\n."),
        "refusing to load global builtins.eval");
    // A storage type cannot be called, nor can a class be instantiated.
    has(unpickle_error("\x80\x02"
                       "ctorch\nFloatStorage\n)R."),
        "torch.FloatStorage cannot be called");
    has(unpickle_error("\x80\x02"
                       "ctorch\nFloatStorage\n)\x81."),
        "NEWOBJ of torch.FloatStorage");
    has(unpickle_error("\x80\x02"
                       "ctorch._utils\n_rebuild_tensor_v2\n(NtR."),
        "_rebuild_tensor_v2 takes 6 arguments, got 1");
}

TEST_CASE("unpickler: views that do not fit their storage are refused") {
    // _rebuild_tensor_v2(storage of 4 floats, offset 2, size (3,), stride (1,), False, None)
    std::string p =
        "\x80\x02"
        "ctorch._utils\n_rebuild_tensor_v2\n("
        "(U\x07storagectorch\nFloatStorage\nU\x01"
        "0U\x03"
        "cpuK\x04tQ"
        "K\x02K\x03\x85K\x01\x85\x89NtR.";
    auto load = [](pickle::Document& doc, const pickle::Value& pid) {
        pickle::Value* s = doc.make(pickle::Kind::storage);
        s->storage = Storage::allocate(size_t(pid.items[4]->integer) * 4, Device::cpu());
        return s;
    };
    std::string e = error_of([&] {
        pickle::Document doc;
        pickle::unpickle(p, "v.pkl", {}, load, doc);
    });
    CHECK(e.find("v.pkl: tensor (size [3], stride [1], offset 2) does not fit its storage of 16 "
                 "bytes") != std::string::npos);
}

TEST_CASE("deep and self-referencing trees flatten to an error, not a crash") {
    std::string deep = "\x80\x02" + std::string(100000, ']') + std::string(99999, 'a') + ".";
    pickle::Document doc;
    pickle::unpickle(deep, "deep.pkl", {}, nullptr, doc);
    PthFile f{"deep.pkl", false, std::make_shared<pickle::Document>(std::move(doc))};
    CHECK(error_of([&] { flatten_tensors(f); }).find("nest deeper than 256") != std::string::npos);
    // l = []; l.append(l)
    pickle::Document cyc;
    pickle::unpickle(std::string("\x80\x02]q\x00h\x00"
                                 "a.",
                                 9),
                     "cycle.pkl", {}, nullptr, cyc);
    PthFile g{"cycle.pkl", false, std::make_shared<pickle::Document>(std::move(cyc))};
    CHECK(error_of([&] { flatten_tensors(g); }).find("cycle.pkl") != std::string::npos);
}

TEST_CASE("convert: select, strip, write safetensors, print the key table") {
    std::string out = (std::filesystem::temp_directory_path() /
                       fmt::format("marrow_{}_convert.safetensors", getpid()))
                          .string();
    nn::ConvertResult r = nn::convert_checkpoint(
        fixture("dino_args.pth"), out,
        {.select = "teacher", .strip_prefixes = {"backbone."}, .skip_unknown_globals = true});
    CHECK(r.skipped_globals == std::vector<std::string>{"argparse.Namespace"});
    SafetensorsFile back = load_safetensors(out);
    CHECK(back.tensors.size() == 3);
    CHECK(
        test::compare(back.tensors.at("blocks.0.attn.qkv.weight"),
                      expected().tensors.at("dino_args/teacher.backbone.blocks.0.attn.qkv.weight"),
                      test::tolerance(test::TolClass::exact, DType::f32))
            .ok);
    std::string table = nn::format_key_table(r.dict);
    CHECK(table.find("norm.bias") != std::string::npos);
    CHECK(table.find("3 tensors, 20 elements, 80 bytes") != std::string::npos);
    std::string e = error_of([&] {
        nn::read_checkpoint(fixture("nested.pth"), {.select = "model", .strip_prefixes = {}});
    });
    CHECK(e.find("no key starts with \"model.\" (top-level names: history, optimizer, student, "
                 "teacher)") != std::string::npos);
    std::filesystem::remove(out);
}
