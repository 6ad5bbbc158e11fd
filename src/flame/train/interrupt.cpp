#include "flame/train/interrupt.h"

#include <csignal>

namespace flame {
namespace {

volatile std::sig_atomic_t g_interrupted = 0;

extern "C" void on_sigint(int) {
  g_interrupted = 1;
  std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C ends the process immediately
}

}  // namespace

void install_interrupt_handler() {
  struct sigaction action = {};
  action.sa_handler = on_sigint;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
}

bool interrupt_requested() {
  return g_interrupted != 0;
}
void set_interrupt_requested(bool requested) {
  g_interrupted = requested ? 1 : 0;
}

}  // namespace flame
