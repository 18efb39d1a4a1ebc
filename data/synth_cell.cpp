#include "data/synth_cell.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

#include "tensor/error.h"

namespace marrow::data {
namespace {

constexpr float kPi = 3.14159265358979f;

struct Rgb {
    float r, g, b;
};
Rgb mix(Rgb a, Rgb b, float t) {
    return {a.r + (b.r - a.r) * t, a.g + (b.g - a.g) * t, a.b + (b.b - a.b) * t};
}
Rgb scale(Rgb a, float s) { return {a.r * s, a.g * s, a.b * s}; }

// The appearance changes every colour the same way: hue rotation about the gray axis, saturation
// and brightness around it.
Rgb stained(Rgb c, const Appearance& s) {
    float gray = (c.r + c.g + c.b) / 3;
    float angle = 2 * kPi * s.hue_shift, cs = std::cos(angle), sn = std::sin(angle);
    // Rotation about (1,1,1)/sqrt(3) (Rodrigues), on the offset from gray.
    float x = c.r - gray, y = c.g - gray, z = c.b - gray;
    float k = (1 - cs) / 3, q = sn / std::sqrt(3.0f);
    float rx = x * (cs + k) + y * (k - q) + z * (k + q);
    float ry = x * (k + q) + y * (cs + k) + z * (k - q);
    float rz = x * (k - q) + y * (k + q) + z * (cs + k);
    auto channel = [&](float v) {
        return std::clamp((gray + v * s.saturation) * s.brightness, 0.0f, 1.0f);
    };
    return {channel(rx), channel(ry), channel(rz)};
}

// ----- value noise for chromatin and cytoplasm texture -----

float hash01(int x, int y, uint32_t seed) {
    uint32_t h = uint32_t(x) * 374761393u + uint32_t(y) * 668265263u + seed * 2246822519u;
    h = (h ^ (h >> 13)) * 1274126177u;
    return float((h ^ (h >> 16)) & 0xffffff) / float(0x1000000);
}
float value_noise(float x, float y, uint32_t seed) {
    int x0 = int(std::floor(x)), y0 = int(std::floor(y));
    float fx = x - float(x0), fy = y - float(y0);
    fx = fx * fx * (3 - 2 * fx);
    fy = fy * fy * (3 - 2 * fy);
    float a = hash01(x0, y0, seed), b = hash01(x0 + 1, y0, seed);
    float c = hash01(x0, y0 + 1, seed), d = hash01(x0 + 1, y0 + 1, seed);
    return (a + (b - a) * fx) + ((c + (d - c) * fx) - (a + (b - a) * fx)) * fy;
}
// Two octaves in [0, 1); `cell` is the feature size in pixels.
float texture(float x, float y, float cell, uint32_t seed) {
    return 0.65f * value_noise(x / cell, y / cell, seed) +
           0.35f * value_noise(2 * x / cell, 2 * y / cell, seed + 17);
}

// ----- signed distance fields (pixels; negative inside) -----

using Sdf = std::function<float(float, float)>;

float segment_distance(float x, float y, float ax, float ay, float bx, float by) {
    float px = x - ax, py = y - ay, dx = bx - ax, dy = by - ay;
    float t = std::clamp((px * dx + py * dy) / std::max(dx * dx + dy * dy, 1e-6f), 0.0f, 1.0f);
    return std::hypot(px - t * dx, py - t * dy);
}

Sdf circle(float cx, float cy, float r) {
    return [=](float x, float y) { return std::hypot(x - cx, y - cy) - r; };
}
Sdf capsule(float ax, float ay, float bx, float by, float r) {
    return [=](float x, float y) { return segment_distance(x, y, ax, ay, bx, by) - r; };
}
// An irregular round shape: radius r (1 + sum_k a_k cos(k theta + phi_k)) for k = 2..5,
// stretched by `aspect` along `angle`. cos(k theta) and sin(k theta) come from the direction
// vector by the angle-addition recurrence (no atan2 or cos per pixel: this is the renderer's
// hot loop).
Sdf blob(float cx, float cy, float r, float aspect, float angle, std::array<float, 4> amp,
         std::array<float, 4> phase) {
    float c = std::cos(angle), s = std::sin(angle);
    std::array<float, 4> cp, sp;
    for (size_t k = 0; k < 4; ++k) {
        cp[k] = amp[k] * std::cos(phase[k]);
        sp[k] = amp[k] * std::sin(phase[k]);
    }
    return [=](float x, float y) {
        float dx = x - cx, dy = y - cy;
        float u = c * dx + s * dy, v = (-s * dx + c * dy) * aspect;
        float d = std::sqrt(u * u + v * v);
        float c1 = d > 0 ? u / d : 1, s1 = d > 0 ? v / d : 0;
        float ck = c1 * c1 - s1 * s1, sk = 2 * c1 * s1;  // k = 2
        float rr = 1;
        for (size_t k = 0; k < 4; ++k) {
            rr += cp[k] * ck - sp[k] * sk;  // a cos(k theta + phi)
            float next_c = ck * c1 - sk * s1;
            sk = sk * c1 + ck * s1;
            ck = next_c;
        }
        return (d - r * rr) / std::max(aspect, 1.0f);
    };
}
Sdf unite(Sdf a, Sdf b) {
    return [=](float x, float y) { return std::min(a(x, y), b(x, y)); };
}
Sdf subtract(Sdf a, Sdf b) {
    return [=](float x, float y) { return std::max(a(x, y), -b(x, y)); };
}

// ----- the canvas -----

struct Canvas {
    int n;
    std::vector<Rgb> px;
    explicit Canvas(int size, Rgb fill) : n(size), px(size_t(size) * size, fill) {}

    // Blends `color(x, y)` over the pixels the shape covers; coverage falls from 1 to 0 over
    // `soft` pixels across the edge (anti-aliasing). Only the box [x0, x1) x [y0, y1) is
    // visited.
    template <typename ColorFn>
    void paint(const Sdf& shape, float x0, float y0, float x1, float y1, ColorFn color,
               float opacity = 1, float soft = 1) {
        int ix0 = std::max(0, int(std::floor(x0)) - 2), iy0 = std::max(0, int(std::floor(y0)) - 2);
        int ix1 = std::min(n, int(std::ceil(x1)) + 2), iy1 = std::min(n, int(std::ceil(y1)) + 2);
        for (int y = iy0; y < iy1; ++y)
            for (int x = ix0; x < ix1; ++x) {
                float fx = float(x) + 0.5f, fy = float(y) + 0.5f;
                float a = std::clamp(0.5f - shape(fx, fy) / soft, 0.0f, 1.0f) * opacity;
                if (a <= 0) continue;
                Rgb& p = px[size_t(y) * size_t(n) + size_t(x)];
                p = mix(p, color(fx, fy), a);
            }
    }
    void paint_all(const Sdf& shape, std::function<Rgb(float, float)> color, float opacity = 1,
                   float soft = 1) {
        paint(shape, 0, 0, float(n), float(n), color, opacity, soft);
    }
};

struct Colors {
    Rgb plasma{0.93f, 0.90f, 0.92f}, rbc{0.86f, 0.58f, 0.60f}, rbc_pallor{0.92f, 0.76f, 0.77f};
    Rgb nucleus{0.42f, 0.24f, 0.56f}, dark_nucleus{0.30f, 0.14f, 0.42f};
    Rgb blast_nucleus{0.55f, 0.40f, 0.68f}, nucleolus{0.68f, 0.60f, 0.80f};
    Rgb basophilic{0.64f, 0.70f, 0.90f}, neutrophilic{0.91f, 0.81f, 0.86f};
    Rgb monocytic{0.76f, 0.76f, 0.87f}, lymph_blue{0.60f, 0.72f, 0.93f};
    Rgb eos_cytoplasm{0.93f, 0.80f, 0.76f}, eos_granule{0.92f, 0.47f, 0.30f};
    Rgb baso_granule{0.24f, 0.10f, 0.34f}, azurophilic{0.56f, 0.20f, 0.46f};
    Rgb fine_granule{0.78f, 0.62f, 0.78f}, abnormal_eos_granule{0.40f, 0.15f, 0.38f};
    Rgb auer{0.66f, 0.14f, 0.34f}, salmon{0.96f, 0.73f, 0.63f}, clearing{0.93f, 0.91f, 0.95f};
    Rgb erythroblast_cytoplasm{0.60f, 0.58f, 0.86f}, smudge{0.64f, 0.52f, 0.74f};
    Rgb vacuole{0.95f, 0.94f, 0.97f};
};

struct Shape {
    Sdf sdf;
    float cx, cy, r;  // bounding circle
};

// A point inside `shape` (and outside `avoid` when given), at least `margin` from its edges.
std::pair<float, float> point_inside(const Shape& shape, const Sdf* avoid, float margin,
                                     SampleRng& rng) {
    for (int attempt = 0; attempt < 64; ++attempt) {
        float a = float(rng.uniform(0, 2 * kPi)), d = shape.r * float(std::sqrt(rng.uniform()));
        float x = shape.cx + d * std::cos(a), y = shape.cy + d * std::sin(a);
        if (shape.sdf(x, y) < -margin && (!avoid || (*avoid)(x, y) > margin)) return {x, y};
    }
    return {shape.cx, shape.cy};
}

std::array<float, 4> random_amplitudes(SampleRng& rng, float scale) {
    return {float(rng.uniform(0, scale)), float(rng.uniform(0, scale * 0.6)),
            float(rng.uniform(0, scale * 0.4)), float(rng.uniform(0, scale * 0.3))};
}
std::array<float, 4> random_phases(SampleRng& rng) {
    return {float(rng.uniform(0, 2 * kPi)), float(rng.uniform(0, 2 * kPi)),
            float(rng.uniform(0, 2 * kPi)), float(rng.uniform(0, 2 * kPi))};
}

// Type parameters: cell radius (fraction of the image), nucleus radius (fraction of the
// cell), and the cytoplasm colour.
struct TypeLook {
    float radius, nucleus, offset;  // offset: how eccentric the nucleus sits
};
TypeLook look_of(CellType t) {
    switch (t) {
        case CellType::myeloblast:
            return {0.22f, 0.78f, 0.08f};
        case CellType::promyelocyte:
            return {0.26f, 0.62f, 0.22f};
        case CellType::myelocyte:
            return {0.23f, 0.55f, 0.25f};
        case CellType::neutrophil_band:
            return {0.21f, 0.0f, 0.0f};
        case CellType::neutrophil_segmented:
            return {0.21f, 0.0f, 0.0f};
        case CellType::eosinophil:
            return {0.22f, 0.0f, 0.0f};
        case CellType::basophil:
            return {0.19f, 0.55f, 0.05f};
        case CellType::monocyte:
            return {0.26f, 0.60f, 0.12f};
        case CellType::lymphocyte_typical:
            return {0.15f, 0.82f, 0.06f};
        case CellType::lymphocyte_atypical:
            return {0.22f, 0.58f, 0.18f};
        case CellType::erythroblast:
            return {0.14f, 0.60f, 0.05f};
        case CellType::smudge_cell:
            return {0.24f, 0.0f, 0.0f};
    }
    return {0.2f, 0.6f, 0.1f};
}

// Red cells around the field, possibly under the leukocyte's edge.
void paint_background(Canvas& canvas, const Colors& col, const Appearance& stain, float size_scale,
                      SampleRng& rng) {
    float n = float(canvas.n);
    int count = int(rng.integer(5, 12));
    for (int i = 0; i < count; ++i) {
        float r = n * size_scale * float(rng.uniform(0.10, 0.14));
        float a = float(rng.uniform(0, 2 * kPi)), d = n * float(rng.uniform(0.25, 0.62));
        float cx = n / 2 + d * std::cos(a), cy = n / 2 + d * std::sin(a);
        Sdf disc = blob(cx, cy, r, float(rng.uniform(1.0, 1.15)), float(rng.uniform(0, kPi)),
                        random_amplitudes(rng, 0.03f), random_phases(rng));
        Rgb body = stained(col.rbc, stain), pallor = stained(col.rbc_pallor, stain);
        canvas.paint(disc, cx - 1.3f * r, cy - 1.3f * r, cx + 1.3f * r, cy + 1.3f * r,
                     [&](float x, float y) {
                         float t =
                             std::clamp(1 - std::hypot(x - cx, y - cy) / (0.55f * r), 0.0f, 1.0f);
                         return mix(body, pallor, t);
                     });
    }
}

// The nucleus shape of a cell of radius R centred at (cx, cy).
Sdf nucleus_shape(const CellSpec& spec, float cx, float cy, float R, SampleRng& rng) {
    TypeLook look = look_of(spec.type);
    float angle = float(rng.uniform(0, 2 * kPi));
    float ox = cx + look.offset * R * std::cos(angle), oy = cy + look.offset * R * std::sin(angle);
    const Morphology& m = spec.morphology;
    float rn = (m.clumped_chromatin ? 0.9f : look.nucleus) * R;
    auto lobes_along_arc = [&](int lobes, float arc_r, float span, float lobe_r, float strand) {
        Sdf shape = nullptr;
        float start = angle - span / 2;
        float px = 0, py = 0;
        for (int i = 0; i < lobes; ++i) {
            float t = start + span * float(i) / float(std::max(1, lobes - 1));
            float x = cx + arc_r * std::cos(t), y = cy + arc_r * std::sin(t);
            float lr = lobe_r * float(rng.uniform(0.85, 1.15));
            Sdf lobe = blob(x, y, lr, float(rng.uniform(1.0, 1.3)), float(rng.uniform(0, kPi)),
                            random_amplitudes(rng, 0.06f), random_phases(rng));
            shape = shape ? unite(shape, lobe) : lobe;
            if (i > 0) shape = unite(shape, capsule(px, py, x, y, strand));
            px = x;
            py = y;
        }
        return shape;
    };
    if (m.bilobed) return lobes_along_arc(2, 0.32f * R, 2.6f, 0.36f * R, 0.16f * R);
    switch (spec.type) {
        case CellType::neutrophil_band: {
            // A thick horseshoe: capsules along an arc.
            Sdf band = nullptr;
            int steps = 8;
            float span = float(rng.uniform(3.4, 4.4)), arc_r = 0.42f * R, w = 0.16f * R;
            for (int i = 0; i < steps; ++i) {
                float t0 = angle + span * (float(i) / steps - 0.5f);
                float t1 = angle + span * (float(i + 1) / steps - 0.5f);
                Sdf piece = capsule(cx + arc_r * std::cos(t0), cy + arc_r * std::sin(t0),
                                    cx + arc_r * std::cos(t1), cy + arc_r * std::sin(t1), w);
                band = band ? unite(band, piece) : piece;
            }
            return band;
        }
        case CellType::neutrophil_segmented:
            return lobes_along_arc(int(rng.integer(3, 6)), 0.38f * R, float(rng.uniform(2.6, 3.8)),
                                   0.26f * R, 0.05f * R);
        case CellType::eosinophil:
            return lobes_along_arc(2, 0.36f * R, 2.4f, 0.27f * R, 0.05f * R);
        case CellType::smudge_cell:
            return blob(cx, cy, 0.85f * R, float(rng.uniform(1.0, 1.6)), angle,
                        random_amplitudes(rng, 0.25f), random_phases(rng));
        default:
            break;
    }
    bool folded = spec.type == CellType::monocyte || m.myelomonocytic;
    Sdf shape = blob(ox, oy, rn, float(rng.uniform(1.0, 1.25)), float(rng.uniform(0, kPi)),
                     random_amplitudes(rng, folded ? 0.14f : 0.04f), random_phases(rng));
    if (folded) {  // a kidney-shaped indentation
        float a = angle + kPi + float(rng.uniform(-0.5, 0.5));
        shape = subtract(shape, circle(ox + 1.05f * rn * std::cos(a), oy + 1.05f * rn * std::sin(a),
                                       0.45f * rn));
    }
    if (m.cup_nucleus) {  // NPM1: a cup-like invagination, a pale pocket into the nucleus
        float a = float(rng.uniform(0, 2 * kPi));
        shape = subtract(shape, circle(ox + 0.62f * rn * std::cos(a), oy + 0.62f * rn * std::sin(a),
                                       0.42f * rn));
    }
    return shape;
}

void paint_granules(Canvas& canvas, const Shape& cytoplasm, const Sdf* avoid, int count,
                    float radius, Rgb color, float opacity, SampleRng& rng) {
    for (int i = 0; i < count; ++i) {
        float r = radius * float(rng.uniform(0.7, 1.3));
        auto [x, y] = point_inside(cytoplasm, avoid, r, rng);
        canvas.paint(
            circle(x, y, r), x - r, y - r, x + r, y + r, [&](float, float) { return color; },
            opacity, 0.8f);
    }
}

void paint_auer_rod(Canvas& canvas, const Shape& cytoplasm, const Sdf& nucleus, float length,
                    float width, Rgb color, SampleRng& rng) {
    // Keep the rod inside the cell: its centre at least ~half its length from the edge.
    auto [x, y] = point_inside(cytoplasm, &nucleus, std::max(width + 1, 0.3f * length), rng);
    float a = float(rng.uniform(0, kPi));
    float dx = 0.5f * length * std::cos(a), dy = 0.5f * length * std::sin(a);
    Sdf rod = subtract(capsule(x - dx, y - dy, x + dx, y + dy, width), nucleus);  // cytoplasm only
    canvas.paint(
        rod, x - std::abs(dx) - width, y - std::abs(dy) - width, x + std::abs(dx) + width,
        y + std::abs(dy) + width, [&](float, float) { return color; }, 0.9f, 0.7f);
}

// Optical defocus: a separable Gaussian (kernel +-2 sigma, clamped at the borders).
void blur(Canvas& canvas, float sigma) {
    int half = std::max(1, int(std::ceil(2 * sigma)));
    std::vector<float> k(static_cast<size_t>(2 * half + 1));
    float total = 0;
    for (int i = -half; i <= half; ++i)
        total += k[size_t(i + half)] = std::exp(-0.5f * float(i * i) / (sigma * sigma));
    for (float& v : k) v /= total;
    int n = canvas.n;
    std::vector<Rgb> tmp(canvas.px.size());
    for (int pass = 0; pass < 2; ++pass) {
        const std::vector<Rgb>& src = pass == 0 ? canvas.px : tmp;
        std::vector<Rgb>& dst = pass == 0 ? tmp : canvas.px;
        for (int y = 0; y < n; ++y)
            for (int x = 0; x < n; ++x) {
                Rgb acc{0, 0, 0};
                for (int i = -half; i <= half; ++i) {
                    int xx = pass == 0 ? std::clamp(x + i, 0, n - 1) : x;
                    int yy = pass == 1 ? std::clamp(y + i, 0, n - 1) : y;
                    const Rgb& p = src[size_t(yy) * size_t(n) + size_t(xx)];
                    float w = k[size_t(i + half)];
                    acc = {acc.r + w * p.r, acc.g + w * p.g, acc.b + w * p.b};
                }
                dst[size_t(y) * size_t(n) + size_t(x)] = acc;
            }
    }
}

// 8 bits per channel, with a little sensor noise (a hash of the pixel index and a seed drawn
// from the cell's stream: cheap, and still a function of the key).
Image to_image(const Canvas& canvas, SampleRng& rng) {
    Image image(canvas.n, canvas.n, 3);
    uint32_t seed = uint32_t(rng.integer(0, 1 << 30));
    auto quantize = [](float v) { return uint8_t(std::clamp(v, 0.0f, 1.0f) * 255.0f + 0.5f); };
    for (size_t i = 0; i < canvas.px.size(); ++i) {
        float noise = 0.024f * (hash01(int(i), 0, seed) - 0.5f);
        image.pixels[3 * i + 0] = quantize(canvas.px[i].r + noise);
        image.pixels[3 * i + 1] = quantize(canvas.px[i].g + noise);
        image.pixels[3 * i + 2] = quantize(canvas.px[i].b + noise);
    }
    return image;
}

}  // namespace

std::string_view cell_type_name(CellType type) {
    switch (type) {
#define MARROW_CELL_NAME(name) \
    case CellType::name:       \
        return #name;
        MARROW_FORALL_CELL_TYPES(MARROW_CELL_NAME)
#undef MARROW_CELL_NAME
    }
    return "?";
}

bool Morphology::any() const { return !describe().empty(); }

std::string Morphology::describe() const {
    std::string out;
    auto add = [&](bool on, const char* name) {
        if (!on) return;
        if (!out.empty()) out += ';';
        out += name;
    };
    add(auer_bundle, "auer_bundle");
    add(hypergranular, "hypergranular");
    add(bilobed, "bilobed");
    add(cup_nucleus, "cup_nucleus");
    add(myelomonocytic, "myelomonocytic");
    add(abnormal_granules, "abnormal_granules");
    add(single_auer_rod, "single_auer_rod");
    add(perinuclear_clearing, "perinuclear_clearing");
    add(salmon_cytoplasm, "salmon_cytoplasm");
    add(clumped_chromatin, "clumped_chromatin");
    return out;
}

std::string site_name(int site) { return std::string("site_") + char('a' + site); }

Appearance site_appearance(int site, float strength) {
    MARROW_CHECK(site >= 0 && site < kNumSites, "site_appearance: site {} (0..{})", site,
                 kNumSites - 1);
    Appearance a;
    if (site == 1) {
        a = {0.03f, 1.2f, 0.96f, 0.9f, 1.1f};
    } else if (site == 2) {
        a = {-0.035f, 0.8f, 1.05f, 0.0f, 0.9f};
    }
    // Interpolate from the reference look (site_a) by `strength`.
    auto lerp = [&](float ref, float v) { return ref + (v - ref) * strength; };
    return {lerp(0, a.hue_shift), lerp(1, a.saturation), lerp(1, a.brightness),
            std::max(0.0f, lerp(0, a.blur_sigma)), lerp(1, a.scale)};
}

Appearance patient_appearance(int site, float strength, SampleRng& rng) {
    Appearance a = site_appearance(site, strength);
    a.hue_shift += float(rng.uniform(-0.012, 0.012));
    a.saturation *= float(rng.uniform(0.92, 1.08));
    a.brightness *= float(rng.uniform(0.97, 1.03));
    return a;
}

Image render_cell(const CellSpec& spec, int size, const Appearance& stain, SampleRng& rng) {
    MARROW_CHECK(size >= 16, "render_cell: size {} too small (at least 16 pixels)", size);
    const Colors col;
    const Morphology& m = spec.morphology;
    auto st = [&](Rgb c) { return stained(c, stain); };
    Canvas canvas(size, st(col.plasma));
    uint32_t texture_seed = uint32_t(rng.integer(0, 1 << 30));
    paint_background(canvas, col, stain, stain.scale, rng);

    float n = float(size);
    TypeLook look = look_of(spec.type);
    float R = look.radius * n * stain.scale * float(rng.uniform(0.9, 1.1));
    float cx = n / 2 + float(rng.uniform(-0.04, 0.04)) * n;
    float cy = n / 2 + float(rng.uniform(-0.04, 0.04)) * n;
    Shape cell{
        blob(cx, cy, R, float(rng.uniform(1.0, 1.15)), float(rng.uniform(0, kPi)),
             random_amplitudes(rng, spec.type == CellType::lymphocyte_atypical ? 0.12f : 0.03f),
             random_phases(rng)),
        cx, cy, 1.35f * R};
    Sdf nucleus = nucleus_shape(spec, cx, cy, R, rng);

    if (spec.type == CellType::smudge_cell) {  // bare, spread chromatin with soft edges
        Rgb c = st(col.smudge), plasma = st(col.plasma);
        canvas.paint_all(
            nucleus,
            [&](float x, float y) {
                return mix(c, plasma, 0.5f * texture(x, y, 0.15f * R, texture_seed));
            },
            0.8f, 4.0f);
        return to_image(canvas, rng);
    }

    // Cytoplasm.
    Rgb cyto = col.neutrophilic;
    switch (spec.type) {
        case CellType::myeloblast:
            cyto = m.myelomonocytic ? col.monocytic : col.basophilic;
            break;
        case CellType::promyelocyte:
            cyto = mix(col.basophilic, col.neutrophilic, 0.45f);
            break;
        case CellType::myelocyte:
            cyto = mix(col.neutrophilic, col.eos_cytoplasm, 0.3f);
            break;
        case CellType::eosinophil:
            cyto = col.eos_cytoplasm;
            break;
        case CellType::basophil:
            cyto = col.neutrophilic;
            break;
        case CellType::monocyte:
            cyto = col.monocytic;
            break;
        case CellType::lymphocyte_typical:
            cyto = col.lymph_blue;
            break;
        case CellType::lymphocyte_atypical:
            cyto = mix(col.lymph_blue, col.basophilic, 0.5f);
            break;
        case CellType::erythroblast:
            cyto = col.erythroblast_cytoplasm;
            break;
        default:
            break;
    }
    if (m.salmon_cytoplasm) cyto = col.salmon;
    Rgb cyto_st = st(cyto);
    canvas.paint(cell.sdf, cx - cell.r, cy - cell.r, cx + cell.r, cy + cell.r,
                 [&](float x, float y) {
                     float t = texture(x, y, 0.2f * R, texture_seed + 3);
                     return scale(cyto_st, 0.96f + 0.08f * t);
                 });
    if (m.perinuclear_clearing) {
        Sdf halo = [nucleus, w = 0.14f * R](float x, float y) { return nucleus(x, y) - w; };
        canvas.paint(
            halo, cx - cell.r, cy - cell.r, cx + cell.r, cy + cell.r,
            [&](float, float) { return st(col.clearing); }, 0.75f, 3.0f);
    }
    if (spec.type == CellType::monocyte) {  // vacuoles
        int v = int(rng.integer(2, 7));
        paint_granules(canvas, cell, &nucleus, v, 0.06f * R, st(col.vacuole), 0.8f, rng);
    }

    // Granules in the cytoplasm (under the nucleus, except basophils').
    float g = 0.035f * R;
    switch (spec.type) {
        case CellType::promyelocyte:
            paint_granules(canvas, cell, &nucleus, m.hypergranular ? 160 : 45,
                           g * (m.hypergranular ? 1.3f : 1.1f), st(col.azurophilic),
                           m.hypergranular ? 0.95f : 0.8f, rng);
            break;
        case CellType::myelocyte:
        case CellType::neutrophil_band:
        case CellType::neutrophil_segmented:
            paint_granules(canvas, cell, &nucleus, 70, 0.6f * g, st(col.fine_granule), 0.6f, rng);
            break;
        case CellType::eosinophil:
            paint_granules(canvas, cell, &nucleus, m.abnormal_granules ? 45 : 90,
                           m.abnormal_granules ? 2.4f * g : 1.5f * g,
                           st(m.abnormal_granules ? col.abnormal_eos_granule : col.eos_granule),
                           0.95f, rng);
            break;
        default:
            break;
    }

    // Nucleus with chromatin texture: fine and pale in blasts (with nucleoli), coarse and
    // clumped in lymphocytes and mature granulocytes.
    bool blast_like = spec.type == CellType::myeloblast || spec.type == CellType::promyelocyte;
    bool dense = spec.type == CellType::lymphocyte_typical || spec.type == CellType::erythroblast;
    Rgb base = st(blast_like ? col.blast_nucleus : dense ? col.dark_nucleus : col.nucleus);
    float grain = blast_like ? 0.05f * R : 0.12f * R, contrast = blast_like ? 0.18f : 0.4f;
    if (m.clumped_chromatin) {  // coarse dark blocks separated by pale streaks
        grain = 0.22f * R;
        contrast = 0.95f;
    }
    canvas.paint(nucleus, cx - cell.r, cy - cell.r, cx + cell.r, cy + cell.r,
                 [&](float x, float y) {
                     float t = texture(x, y, grain, texture_seed + 7);
                     return scale(base, 1 - contrast * (t - 0.5f));
                 });
    if (blast_like) {  // nucleoli
        Shape inside{nucleus, cx, cy, R};
        int k = int(rng.integer(1, 4));
        paint_granules(canvas, inside, nullptr, k, 0.09f * R, st(col.nucleolus), 0.55f, rng);
    }
    if (spec.type == CellType::basophil)  // dark granules over nucleus and cytoplasm
        paint_granules(canvas, cell, nullptr, 55, 1.6f * g, st(col.baso_granule), 0.9f, rng);

    // Auer rods lie in the cytoplasm.
    if (m.auer_bundle) {
        int bundles = int(rng.integer(1, 3));
        for (int b = 0; b < bundles; ++b) {
            int rods = int(rng.integer(3, 7));
            auto [x, y] = point_inside(cell, &nucleus, 0.12f * R, rng);
            float a = float(rng.uniform(0, kPi));
            for (int i = 0; i < rods; ++i) {
                float ai = a + float(rng.uniform(-0.35, 0.35)),
                      len = float(rng.uniform(0.25, 0.4)) * R;
                float dx = 0.5f * len * std::cos(ai), dy = 0.5f * len * std::sin(ai);
                float w = 0.02f * R + 0.4f;
                canvas.paint(
                    capsule(x - dx, y - dy, x + dx, y + dy, w), x - std::abs(dx) - w,
                    y - std::abs(dy) - w, x + std::abs(dx) + w, y + std::abs(dy) + w,
                    [&](float, float) { return st(col.auer); }, 0.9f, 0.7f);
            }
        }
    }
    if (m.single_auer_rod)
        paint_auer_rod(canvas, cell, nucleus, 0.55f * R, 0.025f * R + 0.4f, st(col.auer), rng);

    if (stain.blur_sigma > 0) blur(canvas, stain.blur_sigma);
    return to_image(canvas, rng);
}

}  // namespace marrow::data
