"""Modeled labeling rates, used only when a method has no log; every figure that uses one is marked `modeled`."""

from __future__ import annotations

from dataclasses import dataclass

FOLDER_SORT_CITATION = (
    "modeled: 1.4 s per image, from a deck of ~275 card images sorted into colour and type folders in 6.5 minutes, "
    "quick check included (390 s / 275 images = 1.42 s)"
)
BOX_CITATIONS = {
    # Papadopoulos, Uijlings, Keller, Ferrari, "Extreme clicking for efficient object annotation", ICCV 2017:
    # 7.0 s per box on PASCAL VOC with four extreme points.
    "extreme_clicking": "modeled: 7 s per box, extreme clicking (Papadopoulos et al., ICCV 2017)",
    # the central rate: one box drawn the conventional way, without the verification rounds of draw-and-verify;
    # between extreme clicking (7 s) and draw-and-verify (35 s) in Papadopoulos et al. (ICCV 2017)
    "draw": "modeled: 10 s per box, drawing one box without verification rounds (between 7 s extreme clicking and "
    "35 s draw-and-verify, Papadopoulos et al., ICCV 2017)",
    # Su, Deng, Fei-Fei, "Crowdsourcing annotations for visual object detection", AAAI workshops 2012: the
    # draw-then-verify protocol used for ILSVRC, ~35 s per box as cited by Papadopoulos et al. (2017).
    "draw_and_verify": (
        "modeled: 35 s per box, draw-and-verify protocol used for ILSVRC (Su et al., 2012, as cited by "
        "Papadopoulos et al., ICCV 2017)"
    ),
}
BOX_RATES_S = {"extreme_clicking": 7.0, "draw": 10.0, "draw_and_verify": 35.0}


class RatesError(Exception):
    user_error = True


@dataclass
class LabelingRates:
    folder_sort_s_per_image: float = 1.4
    # a key of BOX_RATES_S, or "custom" with cvat_s_per_box set; the default is the central rate, not the fastest
    box_protocol: str = "draw"
    cvat_s_per_box: float | None = None  # None: the protocol's rate
    folder_sort_citation: str = FOLDER_SORT_CITATION
    box_citation: str | None = None  # None: the protocol's citation

    def __post_init__(self) -> None:
        if self.box_protocol not in BOX_RATES_S and self.cvat_s_per_box is None:
            raise RatesError(
                f"box_protocol {self.box_protocol!r} unknown; use one of {sorted(BOX_RATES_S)} "
                f"or set cvat_s_per_box (with box_citation) for your own rate"
            )
        for key in ("folder_sort_s_per_image", "cvat_s_per_box"):
            value = getattr(self, key)
            if value is not None and not value > 0:
                raise RatesError(f"{key} = {value!r}: a labeling rate must be a positive number of seconds")

    @property
    def s_per_box(self) -> float:
        return self.cvat_s_per_box if self.cvat_s_per_box is not None else BOX_RATES_S[self.box_protocol]

    @property
    def box_basis(self) -> str:
        if self.box_citation:
            return self.box_citation
        if self.cvat_s_per_box is not None and self.cvat_s_per_box != BOX_RATES_S.get(self.box_protocol):
            return f"modeled: {self.cvat_s_per_box:g} s per box (configured; no citation given)"
        return BOX_CITATIONS[self.box_protocol]
