# target dbxemu_engine (static library implementing engine.h) is defined here.
