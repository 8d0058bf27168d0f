import streamlit as st

st.title("Map")
st.info("Coming in the dashboard issue.")
