// Fibers, barriers and warp rendezvous for the SIMT simulator (see scheduler.h, sim.h).
#include "cuda/sim/scheduler.h"

#include <ucontext.h>

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "tensor/error.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#define MARROW_ASAN_FIBERS 1
#endif

namespace marrow::sim {

thread_local ThreadState* t_current = nullptr;

namespace {

constexpr size_t kStackBytes = 256 << 10;
constexpr int kMaxThreads = 1024;

enum class FiberState { runnable, barrier, warp, done };

struct Fiber {
    ucontext_t ctx{};
    ThreadState st;
    FiberState state = FiberState::runnable;
    const char* file = "";  // where it waits
    int line = 0;
    char* stack = nullptr;
    uint64_t warp_result = 0;
    void* fake_stack = nullptr;  // ASan bookkeeping
};

struct WarpSlot {
    WarpOp op = WarpOp::sync;
    unsigned mask = 0;     // lanes that must arrive
    unsigned arrived = 0;  // lanes that have
    const char* file = "";
    int line = 0;
    WarpCollective collective = nullptr;
    uint64_t value[32] = {};
    int src[32] = {};
};

struct BlockRun {
    const char* kernel = "";
    const std::function<void()>* body = nullptr;
    std::vector<Fiber> fibers;
    std::vector<WarpSlot> warps;
    std::vector<char> shared;
    ucontext_t scheduler{};
    Fiber* running = nullptr;
    std::exception_ptr error;
    const void* scheduler_stack_bottom = nullptr;
    size_t scheduler_stack_size = 0;
    void* scheduler_fake_stack = nullptr;
};

thread_local BlockRun* t_block = nullptr;

struct Settings {
    Schedule schedule = Schedule::in_order;
    uint64_t seed = 0;
    Settings() {
        if (const char* env = std::getenv("MARROW_SIM_SCHEDULE")) {
            std::string s = env;
            if (s.rfind("shuffled", 0) == 0) {
                schedule = Schedule::shuffled;
                if (s.size() > 9) seed = std::strtoull(s.c_str() + 9, nullptr, 10);
            }
        }
    }
};
Settings& settings() {
    static Settings s;
    return s;
}

// A per-OS-thread pool of fiber stacks, reused across launches.
char* fiber_stack(int i) {
    struct Free {
        void operator()(char* p) const { std::free(p); }
    };
    thread_local std::vector<std::unique_ptr<char, Free>> stacks;
    while (int(stacks.size()) <= i)
        stacks.emplace_back(static_cast<char*>(std::malloc(kStackBytes)));
    return stacks[size_t(i)].get();
}

std::string where(const ThreadState& s) {
    return fmt::format("block ({}, {}, {}) thread ({}, {}, {})", s.block_idx.x, s.block_idx.y,
                       s.block_idx.z, s.thread_idx.x, s.thread_idx.y, s.thread_idx.z);
}

// Fiber -> scheduler.
void yield_to_scheduler(bool dying) {
    BlockRun& b = *t_block;
    Fiber& f = *b.running;
#ifdef MARROW_ASAN_FIBERS
    __sanitizer_start_switch_fiber(dying ? nullptr : &f.fake_stack, b.scheduler_stack_bottom,
                                   b.scheduler_stack_size);
#else
    (void)dying;
#endif
    swapcontext(&f.ctx, &b.scheduler);
#ifdef MARROW_ASAN_FIBERS
    __sanitizer_finish_switch_fiber(f.fake_stack, &b.scheduler_stack_bottom,
                                    &b.scheduler_stack_size);
#endif
}

void fiber_main() {
    BlockRun& b = *t_block;
#ifdef MARROW_ASAN_FIBERS
    __sanitizer_finish_switch_fiber(nullptr, &b.scheduler_stack_bottom, &b.scheduler_stack_size);
#endif
    try {
        (*b.body)();
    } catch (...) {
        if (!b.error) b.error = std::current_exception();
    }
    b.running->state = FiberState::done;
    yield_to_scheduler(true);
}

// Scheduler -> fiber, until it blocks or finishes.
void run_fiber(BlockRun& b, Fiber& f) {
    b.running = &f;
    t_current = &f.st;
#ifdef MARROW_ASAN_FIBERS
    __sanitizer_start_switch_fiber(&b.scheduler_fake_stack, f.stack, kStackBytes);
#endif
    swapcontext(&b.scheduler, &f.ctx);
#ifdef MARROW_ASAN_FIBERS
    __sanitizer_finish_switch_fiber(b.scheduler_fake_stack, nullptr, nullptr);
#endif
    t_current = nullptr;
    b.running = nullptr;
}

[[noreturn]] void fail_block(BlockRun& b, const std::string& what) {
    fail("simulator: kernel `{}`: {}", b.kernel, what);
}

// Nothing runnable: release a complete barrier, or report why the block cannot go on.
bool release_barrier(BlockRun& b) {
    std::vector<Fiber*> waiting, exited, in_warp;
    for (Fiber& f : b.fibers) {
        if (f.state == FiberState::barrier) waiting.push_back(&f);
        if (f.state == FiberState::done) exited.push_back(&f);
        if (f.state == FiberState::warp) in_warp.push_back(&f);
    }
    if (!in_warp.empty()) {
        Fiber& f = *in_warp[0];
        const WarpSlot& w = b.warps[size_t(f.st.warp)];
        fail_block(b, fmt::format("warp {} is stuck in a warp op at {}:{}: lanes {:#010x} must "
                                  "arrive but only {:#010x} did ({} waits there)",
                                  f.st.warp, w.file, w.line, w.mask, w.arrived, where(f.st)));
    }
    if (waiting.empty()) return false;  // every thread finished
    if (!exited.empty())
        fail_block(b, fmt::format("{} threads wait at __syncthreads ({}:{}) but {} threads of "
                                  "the block exited without reaching it (e.g. {})",
                                  waiting.size(), waiting[0]->file, waiting[0]->line, exited.size(),
                                  where(exited[0]->st)));
    for (Fiber* f : waiting)
        if (f->line != waiting[0]->line || std::string_view(f->file) != waiting[0]->file)
            fail_block(b, fmt::format("threads of one block wait at different __syncthreads: "
                                      "{}:{} ({}) and {}:{} ({})",
                                      waiting[0]->file, waiting[0]->line, where(waiting[0]->st),
                                      f->file, f->line, where(f->st)));
    for (Fiber* f : waiting) f->state = FiberState::runnable;
    return true;
}

void run_block(BlockRun& b, std::mt19937_64* rng) {
    std::vector<size_t> order(b.fibers.size());
    std::iota(order.begin(), order.end(), 0);
    while (true) {
        bool ran = true;
        while (ran) {
            ran = false;
            if (rng) std::shuffle(order.begin(), order.end(), *rng);
            for (size_t i : order) {
                Fiber& f = b.fibers[i];
                if (f.state != FiberState::runnable) continue;
                run_fiber(b, f);
                ran = true;
                if (b.error) std::rethrow_exception(b.error);
            }
        }
        if (!release_barrier(b)) return;
    }
}

}  // namespace

void set_schedule(Schedule s, uint64_t seed) {
    settings().schedule = s;
    settings().seed = seed;
}
Schedule schedule() { return settings().schedule; }

void syncthreads(const char* file, int line) {
    Fiber& f = *t_block->running;
    f.state = FiberState::barrier;
    f.file = file;
    f.line = line;
    yield_to_scheduler(false);
}

void* dynamic_shared() { return t_block->shared.data(); }

uint64_t warp_exchange(WarpOp op, unsigned mask, uint64_t value, int src, const char* file,
                       int line, WarpCollective collective) {
    BlockRun& b = *t_block;
    Fiber& f = *b.running;
    int lane = f.st.lane;
    unsigned me = 1u << lane;
    if (!(mask & me))
        fail_block(b, fmt::format("{}:{}: {} calls a warp op with mask {:#010x} that excludes "
                                  "its own lane {}",
                                  file, line, where(f.st), mask, lane));
    int first = f.st.warp * 32;
    int lanes = std::min<int>(32, int(b.fibers.size()) - first);
    unsigned existing = lanes == 32 ? 0xffffffffu : ((1u << lanes) - 1);
    if (op == WarpOp::collective && existing != 0xffffffffu)
        fail_block(b, fmt::format("{}:{}: {} runs a warp-wide (tensor-core) instruction in "
                                  "warp {}, which has only {} threads: it needs all 32",
                                  file, line, where(f.st), f.st.warp, lanes));
    WarpSlot& w = b.warps[size_t(f.st.warp)];
    if (w.arrived == 0) {
        w.op = op;
        w.mask = mask & existing;
        w.file = file;
        w.line = line;
        w.collective = collective;
    } else if (w.op != op || w.mask != (mask & existing) || w.collective != collective) {
        fail_block(b,
                   fmt::format("lanes of warp {} disagree: {} is at {}:{} (mask {:#010x}) "
                               "while others are at {}:{} (mask {:#010x})",
                               f.st.warp, where(f.st), file, line, mask, w.file, w.line, w.mask));
    }
    w.value[lane] = value;
    w.src[lane] = src;
    w.arrived |= me;
    if (w.arrived != w.mask) {
        f.state = FiberState::warp;
        f.file = file;
        f.line = line;
        yield_to_scheduler(false);
        return f.warp_result;
    }
    // Last lane in: compute every lane's result, wake the others.
    if (w.op == WarpOp::collective) {
        void* lane_data[32];
        for (int l = 0; l < 32; ++l) lane_data[l] = reinterpret_cast<void*>(w.value[l]);
        w.collective(lane_data);
    }
    unsigned votes = 0;
    for (int l = 0; l < 32; ++l)
        if (w.mask & (1u << l) && (w.value[l] & 1u)) votes |= 1u << l;
    for (int l = 0; l < 32; ++l) {
        if (!(w.mask & (1u << l))) continue;
        Fiber& lf = b.fibers[size_t(first + l)];
        uint64_t r = 0;
        switch (w.op) {
            case WarpOp::ballot:
                r = votes;
                break;
            case WarpOp::any:
                r = votes != 0;
                break;
            case WarpOp::all:
                r = votes == w.mask;
                break;
            case WarpOp::sync:
                break;
            default:
                if (w.src[l] >= 0) {
                    if (!(w.mask & (1u << w.src[l])))
                        fail_block(b,
                                   fmt::format("{}:{}: lane {} of warp {} shuffles from lane {}, "
                                               "which is not in the mask {:#010x}",
                                               w.file, w.line, l, f.st.warp, w.src[l], w.mask));
                    r = w.value[w.src[l]];
                }
        }
        lf.warp_result = r;
        if (l != lane) lf.state = FiberState::runnable;
    }
    w.arrived = 0;
    return f.warp_result;
}

void syncwarp(unsigned mask, const char* file, int line) {
    warp_exchange(WarpOp::sync, mask, 0, -1, file, line);
}

void launch(const char* kernel, dim3 grid, dim3 block, size_t shared_bytes,
            const std::function<void()>& body) {
    uint64_t threads = uint64_t(block.x) * block.y * block.z;
    MARROW_CHECK(threads >= 1 && threads <= kMaxThreads,
                 "simulator: kernel `{}`: block ({}, {}, {}) has {} threads (1 to {} allowed)",
                 kernel, block.x, block.y, block.z, threads, kMaxThreads);
    MARROW_CHECK(grid.x >= 1 && grid.y >= 1 && grid.z >= 1 && grid.y <= 65535 && grid.z <= 65535,
                 "simulator: kernel `{}`: invalid grid ({}, {}, {})", kernel, grid.x, grid.y,
                 grid.z);
    MARROW_CHECK(t_block == nullptr, "simulator: kernel `{}` launched from inside a kernel",
                 kernel);
    std::unique_ptr<std::mt19937_64> rng;
    if (settings().schedule == Schedule::shuffled)
        rng = std::make_unique<std::mt19937_64>(settings().seed);
    BlockRun b;
    b.kernel = kernel;
    b.body = &body;
    b.fibers.resize(threads);
    b.warps.resize((threads + 31) / 32);
    b.shared.assign(shared_bytes, 0);
    t_block = &b;
    struct Reset {
        ~Reset() {
            t_block = nullptr;
            t_current = nullptr;
        }
    } reset;
    for (unsigned bz = 0; bz < grid.z; ++bz)
        for (unsigned by = 0; by < grid.y; ++by)
            for (unsigned bx = 0; bx < grid.x; ++bx) {
                for (int t = 0; t < int(threads); ++t) {
                    Fiber& f = b.fibers[size_t(t)];
                    f.state = FiberState::runnable;
                    f.st.block_idx = dim3(bx, by, bz);
                    f.st.block_dim = block;
                    f.st.grid_dim = grid;
                    f.st.thread_idx = dim3(unsigned(t) % block.x, unsigned(t) / block.x % block.y,
                                           unsigned(t) / (block.x * block.y));
                    f.st.linear = t;
                    f.st.lane = t % 32;
                    f.st.warp = t / 32;
                    f.stack = fiber_stack(t);
                    getcontext(&f.ctx);
                    f.ctx.uc_stack.ss_sp = f.stack;
                    f.ctx.uc_stack.ss_size = kStackBytes;
                    f.ctx.uc_link = nullptr;
                    makecontext(&f.ctx, fiber_main, 0);
                }
                for (WarpSlot& w : b.warps) w.arrived = 0;
                try {
                    run_block(b, rng.get());
                } catch (const Error&) {
                    throw;
                } catch (const std::exception& e) {
                    fail("simulator: kernel `{}` threw in block ({}, {}, {}): {}", kernel, bx, by,
                         bz, e.what());
                }
            }
}

}  // namespace marrow::sim
