# Sources of this area: target_sources(dpcore PRIVATE ...).
