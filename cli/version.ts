/** The gvtsim version (`gvtsim --version`), bumped with each release of the tool. */
export const VERSION = "0.14.0";
