// Synthetic single white-blood-cell images in the style of May-Grünwald-Giemsa smears: one
// leukocyte in the centre on a background of red cells, with the features that tell the types
// apart (size, nucleus shape and lobes, chromatin texture, nucleus/cytoplasm ratio, granules,
// cytoplasm colour) and the disease morphologies of the AML subtypes (Auer rods, cup-like
// nuclei, abnormal granules, perinuclear clearing). Shapes are signed-distance fields painted
// with one-pixel anti-aliased edges. Everything random comes from the SampleRng passed in, so
// an image is a pure function of its key.
#pragma once
#include <string>
#include <string_view>

#include "data/image.h"
#include "data/transforms.h"

namespace marrow::data {

// clang-format off
#define MARROW_FORALL_CELL_TYPES(X)                                                          \
    X(myeloblast) X(promyelocyte) X(myelocyte) X(neutrophil_band) X(neutrophil_segmented)   \
    X(eosinophil) X(basophil) X(monocyte) X(lymphocyte_typical) X(lymphocyte_atypical)      \
    X(erythroblast) X(smudge_cell)
// clang-format on

enum class CellType {
#define MARROW_CELL_ENUM(name) name,
    MARROW_FORALL_CELL_TYPES(MARROW_CELL_ENUM)
#undef MARROW_CELL_ENUM
};
inline constexpr int kNumCellTypes = 12;
std::string_view cell_type_name(CellType type);

// Disease morphology on top of a type (the AML subtypes' diagnostic cells).
struct Morphology {
    bool auer_bundle = false;           // PML::RARA faggot cells: bundles of Auer rods
    bool hypergranular = false;         // PML::RARA abnormal promyelocytes
    bool bilobed = false;               // PML::RARA: bilobed ("butterfly") nuclei
    bool cup_nucleus = false;           // NPM1: cup-like nuclear invagination
    bool myelomonocytic = false;        // CBFB::MYH11 blasts: folded monocytoid nucleus
    bool abnormal_granules = false;     // CBFB::MYH11 eosinophils: large dark granules
    bool single_auer_rod = false;       // RUNX1::RUNX1T1: one long, thin Auer rod
    bool perinuclear_clearing = false;  // RUNX1::RUNX1T1
    bool salmon_cytoplasm = false;      // RUNX1::RUNX1T1
    bool clumped_chromatin = false;     // tumoral (CLL-like) lymphocytes: coarse "soccer-ball"
                                        // chromatin, scant cytoplasm
    bool any() const;
    std::string describe() const;  // "auer_bundle;bilobed" ("" when none)
};

struct CellSpec {
    CellType type = CellType::lymphocyte_typical;
    Morphology morphology;
};

// How a slide and its scanner render cells: stain colour, focus and magnification. Each
// patient has one (a site's typical look plus the patient's own slide variation).
struct Appearance {
    float hue_shift = 0;   // added to every colour's hue (fraction of a turn)
    float saturation = 1;  // multiplies saturation
    float brightness = 1;  // multiplies values
    float blur_sigma = 0;  // optical blur in pixels (0: sharp)
    float scale = 1;       // magnification: multiplies every size
};

// Acquisition sites for domain-shift experiments: "site_a" (the reference look), "site_b"
// (cooler, more saturated stain, slightly defocused, 10% higher magnification) and "site_c"
// (warmer, paler, brighter stain, 10% lower magnification). `strength` scales every
// difference from site_a (0: all sites look alike).
inline constexpr int kNumSites = 3;
std::string site_name(int site);
Appearance site_appearance(int site, float strength);
// A patient's slide: the site's look with a small random per-slide variation.
Appearance patient_appearance(int site, float strength, SampleRng& rng);

Image render_cell(const CellSpec& spec, int size, const Appearance& look, SampleRng& rng);

}  // namespace marrow::data
