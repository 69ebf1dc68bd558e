-- An interpreter may answer a videomail with a recorded video (a sealed file beside the
-- message's own); its length, when there is one.
ALTER TABLE videomails ADD COLUMN answer_video_ms BIGINT;
