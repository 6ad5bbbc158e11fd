#pragma once
// A small self-contained SVG line chart (no dependencies): axes with round tick values, one
// polyline per series, a legend. Used for training loss curves.
//
//   LineChart chart{"Loss", "step", "loss"};
//   chart.series.push_back({"train", "#1f77b4", train_points});
//   chart.series.push_back({"validation", "#d62728", val_points, /*markers=*/true});
//   write_file_atomically("loss.svg", chart.to_svg());
#include <string>
#include <utility>
#include <vector>

namespace flame {

struct ChartSeries {
  std::string name, color;
  std::vector<std::pair<double, double>> points;  // (x, y); non-finite y are skipped
  bool markers = false;
};

struct LineChart {
  std::string title, x_label, y_label;
  std::vector<ChartSeries> series;
  int width = 800, height = 480;
  std::string to_svg() const;
};

// Round tick positions covering [lo, hi] (about `target` of them, steps of 1, 2 or 5 x 10^k).
std::vector<double> nice_ticks(double lo, double hi, int target = 6);

}  // namespace flame
