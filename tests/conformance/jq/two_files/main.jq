include "greet";
greeting
