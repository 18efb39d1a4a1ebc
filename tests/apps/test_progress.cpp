// apps::ProgressBar's line: the bar, the count, the rate, the ETA and the extra text.
#include <doctest/doctest.h>

#include "apps/progress.h"

using marrow::apps::ProgressBar;

TEST_CASE("progress: durations and the line's parts") {
    CHECK(ProgressBar::format_duration(0) == "0:00");
    CHECK(ProgressBar::format_duration(65.4) == "1:05");
    CHECK(ProgressBar::format_duration(3723) == "1:02:03");
    CHECK(ProgressBar::format_duration(-1) == "?");
    ProgressBar bar("epoch 1/2", 200);
    // 50 of 200 in 10 s: 5 it/s, 150 left -> 30 s.
    CHECK(bar.line(50, 10, "loss 0.5") ==
          "epoch 1/2 [#####...............] 50/200  5.00 it/s  ETA 0:30  loss 0.5");
    // Done: the elapsed time instead of an ETA.
    CHECK(bar.line(200, 20, "") == "epoch 1/2 [####################] 200/200  10 it/s  0:20");
    // A resumed epoch: the 40 batches done before do not count towards the rate.
    ProgressBar resumed("epoch 2/2", 200, 40);
    CHECK(resumed.line(60, 4, "") ==
          "epoch 2/2 [######..............] 60/200  5.00 it/s  ETA 0:28");
    ProgressBar open("scan", 0);
    CHECK(open.line(7, 2, "") == "scan 7  3.50 it/s  0:02");
}
