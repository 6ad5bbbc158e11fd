#pragma once
// Ctrl-C for long runs: the first SIGINT only sets a flag (the trainer finishes its step, saves a
// checkpoint and returns); a second SIGINT kills the process as usual.
//
//   install_interrupt_handler();
//   while (...) { step(); if (interrupt_requested()) { save(); return 130; } }
namespace flame {

void install_interrupt_handler();
bool interrupt_requested();
// For tests: behave as if Ctrl-C had been pressed (or clear the flag).
void set_interrupt_requested(bool requested);

}  // namespace flame
