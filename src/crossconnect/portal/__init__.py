"""The portal: a single-page app (plain HTML/CSS/JS) that signs a user in and calls the ARM API."""
