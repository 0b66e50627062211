# Sources of this area: target_sources(dpcore PRIVATE ...).
# Staging: capped byte buffers, the event-name -> table mapping, staged file
# names, and the Avro container writer.
target_sources(dpcore PRIVATE buf.c tablename.c stagename.c)
