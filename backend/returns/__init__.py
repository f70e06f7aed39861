"""Returns and claims: requests opened on the road, approved or rejected at the desk."""
