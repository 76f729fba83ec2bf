"""HTTP plumbing shared by every API function: app factory, problems, middleware, Lambda handler."""
