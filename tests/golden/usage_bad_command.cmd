frobnicate x.vg
